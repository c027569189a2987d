"""`AssistantRetriever`: the store as a LangChain retriever (over a fake assistant)."""

from __future__ import annotations

from datetime import date
from typing import Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

import assistant
from assistant.retrieve import Filters
from assistant.types import Hit, Outlet
from tests.unit.test_ui import tariff_answer, tariff_article


class FakeRetrievingAssistant:
    """`Assistant.retrieve` over canned hits; records its arguments."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.calls: list[dict[str, Any]] = []

    def retrieve(self, question: str, **kwargs: Any) -> list[Hit]:
        self.calls.append({"question": question, **kwargs})
        return self.hits


def test_the_retriever_is_exported_lazily_and_is_a_langchain_retriever() -> None:
    assert "AssistantRetriever" in assistant.__all__
    assert issubclass(assistant.AssistantRetriever, BaseRetriever)


def test_documents_carry_the_chunk_text_metadata_and_offsets() -> None:
    hits = tariff_answer().hits
    outlet = Outlet(article_id="copy", title="Copy", source="AP", published=date(2025, 10, 25))
    hits[0] = hits[0].model_copy(update={"also_in": [outlet]})
    fake = FakeRetrievingAssistant(hits)
    filters = Filters(sources=("Bloomberg",))
    retriever = assistant.AssistantRetriever(
        assistant=fake, k=2, filters=filters, as_of=date(2025, 10, 26)
    )
    docs = retriever.invoke("What tariff did Trump threaten?")
    assert fake.calls == [
        {
            "question": "What tariff did Trump threaten?",
            "k": 2,
            "filters": filters,
            "as_of": date(2025, 10, 26),
        }
    ]
    assert all(isinstance(d, Document) for d in docs) and len(docs) == len(hits)
    text = tariff_article().text
    for doc, hit in zip(docs, hits, strict=True):
        meta = doc.metadata
        assert doc.id == hit.chunk.id == meta["chunk_id"]
        assert text[meta["start"] : meta["end"]] == doc.page_content == hit.chunk.text
        assert meta["article_id"] == "tariffs" and meta["source"] == "Bloomberg"
        assert meta["published"] == "2025-10-24" and meta["dense"] == hit.dense
    assert docs[0].metadata["also_in"][0]["source"] == "AP"
    assert docs[0].metadata["also_in"][0]["published"] == "2025-10-25"


def test_batch_and_defaults() -> None:
    fake = FakeRetrievingAssistant(tariff_answer().hits[:1])
    retriever = assistant.AssistantRetriever(assistant=fake)
    out = retriever.batch(["one?", "two?"])
    assert [len(d) for d in out] == [1, 1]
    assert {c["question"] for c in fake.calls} == {"one?", "two?"}
    assert fake.calls[0]["k"] is None and fake.calls[0]["filters"] is None
