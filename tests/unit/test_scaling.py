"""Pure parts of scaling out: backend wiring, server error messages, page sizes, the synthetic
corpus generator and the stats output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.cli import _human_size
from assistant.config import Settings
from assistant.errors import StoreError
from assistant.llm import make_chat_model
from assistant.records import WRITE_PAGE, write_page
from assistant.retrieve import LexicalIndex, _token_ids, tokenize
from assistant.store import _server_errors
from benchmarks.synth import collect_paragraphs, main, synth_articles
from tests.conftest import SEEDS


def test_ollama_model_takes_every_limit_from_settings() -> None:
    from langchain_ollama import ChatOllama

    settings = Settings(
        llm="ollama",
        ollama_url="http://127.0.0.1:11500",
        llm_model="qwen2.5:0.5b",
        temperature=0.3,
        max_tokens=99,
        n_ctx=2048,
        request_timeout=7.5,
    )

    model = make_chat_model(settings)

    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url) == ("qwen2.5:0.5b", "http://127.0.0.1:11500")
    assert (model.temperature, model.num_predict, model.num_ctx, model.seed) == (0.3, 99, 2048, 0)
    assert model.client_kwargs == {"timeout": 7.5}
    # the timeout really reaches the HTTP client, so a hung server cannot hang the assistant
    assert model._client._client.timeout.read == 7.5


class FakeStore:
    def __init__(self, chroma_url: str | None) -> None:
        self.settings = Settings(chroma_url=chroma_url)

    @_server_errors
    def count(self) -> int:
        raise ConnectionRefusedError("[Errno 111] Connection refused\nmore detail")


def test_server_failures_become_one_store_error_line() -> None:
    with pytest.raises(StoreError) as err:
        FakeStore("http://127.0.0.1:8000").count()
    assert str(err.value) == (
        "Chroma server at http://127.0.0.1:8000 (ASSISTANT_CHROMA_URL) failed: "
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    assert isinstance(err.value.__cause__, ConnectionRefusedError)


def test_embedded_store_errors_keep_their_type() -> None:
    with pytest.raises(ConnectionRefusedError):
        FakeStore(None).count()


class FakeClient:
    def __init__(self, limit: int | Exception) -> None:
        self.limit = limit

    def get_max_batch_size(self) -> int:
        if isinstance(self.limit, Exception):
            raise self.limit
        return self.limit


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(100_000, WRITE_PAGE), (100, 100), (-1, WRITE_PAGE), (RuntimeError("404"), WRITE_PAGE)],
)
def test_write_page_respects_the_servers_batch_limit(limit: Any, expected: int) -> None:
    assert write_page(FakeClient(limit)) == expected  # type: ignore[arg-type]


def test_synthetic_corpus_is_deterministic_with_unique_ids_and_titles() -> None:
    paragraphs = collect_paragraphs(SEEDS, None)
    assert len(paragraphs) > 5 and all(len(p) >= 80 for p in paragraphs)

    first = list(synth_articles(300, paragraphs, seed=7))
    assert first == list(synth_articles(300, paragraphs, seed=7))
    assert first != list(synth_articles(300, paragraphs, seed=8))
    assert len({a["id"] for a in first}) == len({a["title"] for a in first}) == 300
    for article in first:
        parts = article["text"].split("\n\n")
        assert 3 <= len(parts) <= 9 and all(p in paragraphs for p in parts)


def test_synth_command_writes_jsonl_the_loader_reads(tmp_path: Path) -> None:
    from assistant.loaders import load_file
    from assistant.types import Article

    out = tmp_path / "synth.jsonl"
    assert main(["--articles", "25", "--out", str(out), "--no-corpus", "--seed", "1"]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles = list(load_file(out))
    assert len(records) == len(articles) == 25
    assert all(isinstance(a, Article) and a.published and a.source for a in articles)
    assert [a.id for a in articles if isinstance(a, Article)] == [r["id"] for r in records]


def test_missing_corpus_falls_back_to_seeds(tmp_path: Path) -> None:
    assert collect_paragraphs(SEEDS, tmp_path / "absent.jsonl") == collect_paragraphs(SEEDS, None)
    with pytest.raises(SystemExit):
        collect_paragraphs(tmp_path, None)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "unknown (a Chroma server does not report its disk use)"),
        (512, "512 B"),
        (668_000, "668.0 kB"),
        (2_500_000_000, "2.5 GB"),
        (5_000_000_000_000, "5000.0 GB"),
    ],
)
def test_store_size_reads_well(size: int | None, text: str) -> None:
    assert _human_size(size) == text


# --- the lexical index ----------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "Tariffs",
        "tariff",
        "the",
        "China's",
        "100%",
        "$8.5",
        "U.S.",
        "cities",
        "bus",
        "İstanbul",
        "ǅemal",
        "glass",
        "don’t",
        "a.b",
        "3.5%",
        "Xi",
        "news",
        "ß",
    ]
)


@given(st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=40))
def test_token_ids_are_tokenize_as_ids(words: list[str]) -> None:
    text = " ".join(words)
    vocab: dict[str, int] = {}
    memo: dict[str, tuple[int, ...]] = {}
    ids = _token_ids(text, vocab, memo)
    names = {i: t for t, i in vocab.items()}
    assert [names[i] for i in ids] == tokenize(text)
    assert _token_ids(text, vocab, memo) == ids  # memoised words give the same ids


class FakeChunkStore:
    """Just what LexicalIndex reads: a revision and pages of chunk texts."""

    def __init__(self, chunks: dict[str, str]) -> None:
        self.chunks = dict(chunks)
        self.rev = "r1"
        self.pages_read = 0

    def revision(self) -> str:
        return self.rev

    def iter_chunk_records(self, batch: int = 2) -> Any:
        items = list(self.chunks.items())
        for i in range(0, len(items), batch):
            self.pages_read += 1
            page = items[i : i + batch]
            # a concurrent writer can make offset paging repeat a record
            ids = [cid for cid, _ in page] + [page[0][0]]
            metas = [{"article_id": cid.split("#")[0], "index": 0} for cid in ids]
            yield ids, [t for _, t in page] + [page[0][1]], metas


def test_lexical_index_scores_like_bm25s_and_follows_the_revision() -> None:
    import bm25s

    chunks = {
        "a#0": "Trump threatened a 100% tariff on Chinese products.",
        "b#0": "The festival opened in Porto with forty bands.",
        "c#0": "Tariffs on steel were lowered, officials said.",
    }
    store = FakeChunkStore(chunks)
    index = LexicalIndex(store)  # type: ignore[arg-type]
    got = index.search("tariff on Chinese products", 5)

    reference = bm25s.BM25()
    reference.index([tokenize(t) for t in chunks.values()], show_progress=False)
    scores = reference.get_scores(tokenize("tariff on Chinese products"))
    expected = sorted(
        ((cid, float(s)) for cid, s in zip(chunks, scores, strict=True) if s > 0),
        key=lambda x: -x[1],
    )
    assert [cid for cid, _ in got] == [cid for cid, _ in expected] == ["a#0", "c#0"]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected])

    pages = store.pages_read
    index.search("festival", 5)
    assert store.pages_read == pages  # same revision: no rebuild
    store.chunks["d#0"] = "A zorblatt was seen."
    store.rev = "r2"
    assert [cid for cid, _ in index.search("zorblatt", 5)] == ["d#0"]
