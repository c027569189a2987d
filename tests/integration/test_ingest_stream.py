"""Large ingests: JSONL files stream in pages, and an interrupted ingest resumes without
re-embedding what it stored. Real Chroma (embedded, in tmp_path); a fake embedder stands in for
MiniLM so that thousands of chunks cost seconds."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import chain as chain_module
from assistant.chain import INGEST_BATCH_CHUNKS, INGEST_PAGE_ARTICLES, Assistant
from assistant.chunking import chunk_article
from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.loaders import load_file
from assistant.types import Article
from benchmarks.synth import collect_paragraphs, synth_articles, write_jsonl
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.integration


class FakeEmbedder(Embedder):
    """Deterministic random unit vectors under the real model's id; counts like the real one."""

    def __init__(self, settings: Settings, *, fail_after_calls: int | None = None) -> None:
        super().__init__(settings)
        self.fail_after_calls = fail_after_calls

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("the ingest was interrupted")
        self.calls += 1
        self.texts_embedded += len(texts)
        seed = int.from_bytes(hashlib.sha256("\0".join(texts).encode()).digest()[:8], "little")
        vectors = np.random.default_rng(seed).standard_normal((len(texts), 384))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _corpus(path: Path, n: int, seed: int = 0) -> Path:
    write_jsonl(synth_articles(n, collect_paragraphs(SEEDS, None), seed=seed), path)
    return path


def _chunk_counts(path: Path, settings: Settings) -> dict[str, int]:
    out = {}
    for article in load_file(path):
        assert isinstance(article, Article)
        chunks = chunk_article(article, size=settings.chunk_size, overlap=settings.chunk_overlap)
        out[article.id] = len(chunks)
    return out


def _assert_store_matches(assistant: Assistant, expected: dict[str, int]) -> None:
    """Every article once, with exactly its chunks, and no chunk of anything else."""
    infos = assistant.articles()
    assert sorted(a.id for a in infos) == sorted(expected)
    assert {a.id: a.chunks for a in infos} == expected
    store_ids = assistant.store.chunk_ids()
    assert len(store_ids) == len(set(store_ids)) == sum(expected.values())
    assert assistant.store.count_chunks() == sum(expected.values())


def test_jsonl_is_read_in_pages_not_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path / "big.jsonl", INGEST_PAGE_ARTICLES * 3)
    read = {"articles": 0}
    seen_at_embed: list[int] = []

    def counting_load_file(path: Path, **kwargs: Any) -> Iterator[Any]:
        for item in load_file(path, **kwargs):
            read["articles"] += 1
            yield item

    import assistant.loaders

    monkeypatch.setattr(assistant.loaders, "load_file", counting_load_file)
    settings = Settings(data_dir=tmp_path / "store")

    class FakeWatchingEmbedder(FakeEmbedder):
        def embed(self, texts: list[str]) -> np.ndarray:
            seen_at_embed.append(read["articles"])
            return super().embed(texts)

    a = Assistant(settings, embedder=FakeWatchingEmbedder(settings))
    report = a.ingest([corpus])

    assert report.ok and len(report.added) == INGEST_PAGE_ARTICLES * 3
    # the first batch is embedded after reading one page, not the whole file
    assert seen_at_embed[0] <= INGEST_PAGE_ARTICLES
    assert read["articles"] == INGEST_PAGE_ARTICLES * 3
    # batches hold several articles and about INGEST_BATCH_CHUNKS chunks each
    assert report.chunks / len(seen_at_embed) >= INGEST_BATCH_CHUNKS * 0.9


def test_interrupted_ingest_resumes_without_reembedding(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 300)
    settings = Settings(data_dir=tmp_path / "store")
    expected = _chunk_counts(corpus, settings)

    first = FakeEmbedder(settings, fail_after_calls=2)
    with pytest.raises(KeyboardInterrupt):
        Assistant(settings, embedder=first).ingest([corpus])
    assert first.calls == 2

    embedder = FakeEmbedder(settings)
    a = Assistant(settings, embedder=embedder)
    stored = {info.id for info in a.articles()}
    assert 0 < len(stored) < len(expected)
    report = a.ingest([corpus])

    assert sorted(report.unchanged) == sorted(stored)
    assert sorted(report.added) == sorted(set(expected) - stored)
    assert embedder.texts_embedded == report.chunks
    assert report.chunks == sum(n for aid, n in expected.items() if aid not in stored)
    _assert_store_matches(a, expected)

    again = Assistant(settings, embedder=FakeEmbedder(settings))
    assert again.ingest([corpus]).chunks == 0
    assert again.embedder.texts_embedded == 0


_CHILD = """
import sys
import numpy as np
from assistant.chain import Assistant
from assistant.config import Settings
from tests.integration.test_ingest_stream import FakeEmbedder


class FakeReportingEmbedder(FakeEmbedder):
    def embed(self, texts):
        if self.calls:  # the previous batch is committed once this one starts
            print("committed", flush=True)
        return super().embed(texts)


settings = Settings(data_dir=sys.argv[2])
Assistant(settings, embedder=FakeReportingEmbedder(settings)).ingest([sys.argv[1]])
print("done", flush=True)
"""


def test_killed_ingest_process_resumes_without_duplicates(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 1500, seed=3)
    settings = Settings(data_dir=tmp_path / "store")
    expected = _chunk_counts(corpus, settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(corpus), str(settings.data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert child.stdout is not None
    committed = 0
    for line in child.stdout:
        committed += line.strip() == "committed"
        if committed >= 4:
            child.send_signal(signal.SIGKILL)  # no cleanup, possibly in the middle of a write
            break
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL, "the ingest finished before it was killed"

    embedder = FakeEmbedder(settings)
    a = Assistant(settings, embedder=embedder)
    stored = {info.id for info in a.articles()}
    assert stored and len(stored) < len(expected)
    report = a.ingest([corpus])

    assert sorted(report.unchanged) == sorted(stored)
    assert embedder.texts_embedded == sum(n for aid, n in expected.items() if aid not in stored)
    _assert_store_matches(a, expected)


def test_page_size_is_bounded_for_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import records

    monkeypatch.setattr(records, "WRITE_PAGE", 100)
    settings = Settings(data_dir=tmp_path / "store")
    a = Assistant(settings, embedder=FakeEmbedder(settings))
    sizes: list[int] = []
    original = type(a.store.chunks).upsert

    def recording_upsert(self: Any, ids: list[str], **kwargs: Any) -> None:
        sizes.append(len(ids))
        original(self, ids=ids, **kwargs)

    monkeypatch.setattr(type(a.store.chunks), "upsert", recording_upsert)
    monkeypatch.setattr(chain_module, "INGEST_BATCH_CHUNKS", 1000)
    report = a.ingest([_corpus(tmp_path / "c.jsonl", 250)])

    assert report.chunks > 300
    assert sizes and max(sizes) <= 100
    assert a.store.count_chunks() == report.chunks


def test_repair_scans_chunks_only_when_counts_disagree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "store")
    a = Assistant(settings, embedder=FakeEmbedder(settings))
    a.ingest([_corpus(tmp_path / "c.jsonl", 40)])
    store = a.store
    scans: list[str] = []
    collection_type = type(store.chunks)
    original = collection_type.get

    def recording_get(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == store.chunks.name and "metadatas" in (kwargs.get("include") or []):
            scans.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(collection_type, "get", recording_get)
    assert store.repair() == 0
    assert scans == []  # every chunk belongs to a committed version: no scan

    store.chunks.upsert(
        ids=["ghost#0@v0"],
        embeddings=[[1.0] + [0.0] * 383],
        documents=["left by a crashed ingest"],
        metadatas=[{"article_id": "ghost", "version": "v0"}],
    )
    assert store.repair() == 1
    assert scans
    assert store.get_article("ghost") is None and store.repair() == 0
