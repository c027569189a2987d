"""`AssistantRetriever`: the store as a langchain-core `BaseRetriever` for other LangChain apps.

It wraps `Assistant.retrieve` (hybrid dense + BM25 retrieval, filters, near-duplicate grouping;
the module doing that is `assistant.retrieve`) and returns one `Document` per passage, its
`page_content` the chunk text and its metadata the chunk's article, offsets and scores:
`article.text[metadata["start"]:metadata["end"]] == page_content`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.types import Hit

if TYPE_CHECKING:
    from assistant.retrieve import Filters


def hit_to_document(hit: Hit) -> Document:
    """A retrieved passage as a LangChain `Document` (id = chunk id)."""
    chunk = hit.chunk
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            "article_id": chunk.article_id,
            "chunk_id": chunk.id,
            "index": chunk.index,
            "start": chunk.start,
            "end": chunk.end,
            "title": hit.title,
            "source": hit.source,
            "published": hit.published.isoformat() if hit.published else None,
            "url": hit.url,
            "score": hit.score,
            "dense": hit.dense,
            "lexical": hit.lexical,
            "also_in": [o.model_dump(mode="json") for o in hit.also_in],
        },
    )


class AssistantRetriever(BaseRetriever):
    """The assistant's retrieval as a LangChain retriever.

    Example:
        >>> from assistant import Assistant, AssistantRetriever
        >>> retriever = AssistantRetriever(assistant=Assistant.from_settings(), k=4)
        >>> docs = retriever.invoke("What tariff did Trump threaten?")
        >>> docs[0].metadata["article_id"], docs[0].metadata["start"]

    Attributes:
        assistant: The `Assistant` whose store is searched.
        k: Passages returned (default `Settings.top_k`).
        filters: Restrict retrieval by source, date range or article ids.
        as_of: Read questions against this date ("this week"; nothing published after it).
    """

    assistant: Any
    k: int | None = None
    filters: Any = None
    as_of: date | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        filters: Filters | None = self.filters
        hits = self.assistant.retrieve(query, k=self.k, filters=filters, as_of=self.as_of)
        return [hit_to_document(h) for h in hits]
