"""Several processes writing one embedded store at once: nothing is lost, duplicated or stale.

Chroma's embedded client keeps its vector index in memory; a process that opened the store
before another one wrote would flush its stale index over the other's at its next write (see
`assistant/store.py`). These tests run the real `assistant ingest` console script in parallel
processes on corpora large enough (about 1,200 chunks each) that Chroma persists its index more
than once per run, and check the store afterwards from a fresh process:

* every article is stored once, with exactly the chunks chunking gives it, each chunk's text at
  its offsets in the article;
* the dense index holds every chunk (a query for all of them returns each id), so nothing a
  writer added was dropped by another's flush;
* a process that had the store open before (a `serve`) finds the other processes' chunks in its
  next dense query.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.chunking import chunk_article
from assistant.config import Settings
from assistant.loaders import load_file
from assistant.store import Store
from tests.conftest import ROOT
from tests.integration.clienv import cli_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ASSISTANT_BIN = ROOT / ".venv" / "bin" / "assistant"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
CHUNK_SIZE = 100  # about one sentence per chunk
ARTICLES = 100  # per corpus
SENTENCES = 12  # per article: ~1,200 chunks per corpus

_NOUNS = [
    "harbour",
    "council",
    "river",
    "bridge",
    "school",
    "market",
    "festival",
    "train",
    "budget",
    "clinic",
]
_VERBS = ["opened", "closed", "delayed", "funded", "reviewed", "expanded", "moved", "rebuilt"]


def _write_corpus(path: Path, name: str, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(ARTICLES):
            sentences = [
                f"In {name} report {i}, the {rng.choice(_NOUNS)} {rng.choice(_VERBS)} "
                f"item {i * SENTENCES + j} on day {rng.randint(1, 28)}."
                for j in range(SENTENCES)
            ]
            record = {"id": f"{name}-{i:03d}", "title": f"{name} {i}", "text": " ".join(sentences)}
            out.write(json.dumps(record) + "\n")


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, chunk_size=CHUNK_SIZE, chunk_overlap=0)


def _env(data_dir: Path) -> dict[str, str]:
    return cli_env(data_dir, CHUNK_SIZE)


def _ingest(data_dir: Path, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ASSISTANT_BIN), "ingest", *map(str, paths)],
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-2000:]
    return out + err


def _fresh_store(data_dir: Path) -> Store:
    # A new client system for this path, as a new process would have.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return Store(_settings(data_dir), EMBEDDING_MODEL)


def _expected(corpora: list[Path], settings: Settings) -> dict[str, dict[str, object]]:
    """Article id -> its text and its chunks' (start, end), as chunking makes them."""
    out: dict[str, dict[str, object]] = {}
    for path in corpora:
        for article in load_file(path):
            chunks = chunk_article(
                article, size=settings.chunk_size, overlap=settings.chunk_overlap
            )
            out[article.id] = {"text": article.text, "spans": [(c.start, c.end) for c in chunks]}
    return out


def _dense_ids(store: Store, total: int) -> set[str]:
    """Every chunk id the vector index returns for a few queries asking for all of them."""
    seen: set[str] = set()
    for seed in range(3):
        vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        seen |= {cid for cid, _ in store.query(vector / np.linalg.norm(vector), total)}
    return seen


def _check_store(data_dir: Path, expected: dict[str, dict[str, object]]) -> None:
    store = _fresh_store(data_dir)
    assert store.count_articles() == len(expected)
    assert {a.id for a in store.list_articles()} == set(expected)
    spans: dict[str, list[tuple[int, int]]] = {aid: [] for aid in expected}
    ids: list[str] = []
    for page_ids, texts, metas in store.iter_chunk_records():
        for cid, text, meta in zip(page_ids, texts, metas, strict=True):
            ids.append(cid)
            aid = str(meta["article_id"])
            start, end = int(meta["start"]), int(meta["end"])  # type: ignore[arg-type]
            assert text == str(expected[aid]["text"])[start:end], cid
            spans[aid].append((start, end))
    assert len(ids) == len(set(ids)), "a chunk is stored twice"
    for aid, want in expected.items():
        assert sorted(spans[aid]) == want["spans"], aid
    assert _dense_ids(store, len(ids)) == set(ids), "the vector index lost chunks"


def test_two_ingests_at_once_store_both_corpora_exactly(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    corpora = [tmp_path / "north.jsonl", tmp_path / "south.jsonl"]
    _write_corpus(corpora[0], "north", 1)
    _write_corpus(corpora[1], "south", 2)
    # A process that opened the store before both writers, as a running `serve` would have.
    reader = Store(_settings(data_dir), EMBEDDING_MODEL)
    first, second = _ingest(data_dir, corpora[0]), _ingest(data_dir, corpora[1])
    outputs = [_finish(first), _finish(second)]
    assert all("100 added" in out for out in outputs), outputs
    expected = _expected(corpora, _settings(data_dir))
    total = sum(len(e["spans"]) for e in expected.values())  # type: ignore[arg-type]
    assert total > 2000
    # the reader's next dense query sees what both processes wrote
    assert len(_dense_ids(reader, total)) == total
    _check_store(data_dir, expected)


def test_removing_while_another_process_ingests_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    corpora = [tmp_path / "north.jsonl", tmp_path / "south.jsonl"]
    _write_corpus(corpora[0], "north", 3)
    _write_corpus(corpora[1], "south", 4)
    _finish(_ingest(data_dir, corpora[0]))
    # this process removes north articles one by one while the CLI ingests south
    store = _fresh_store(data_dir)
    proc = _ingest(data_dir, corpora[1])
    removed: list[str] = []
    for i in range(0, ARTICLES, 10):
        assert store.remove(f"north-{i:03d}")
        removed.append(f"north-{i:03d}")
        time.sleep(0.5)
    _finish(proc)
    expected = _expected(corpora, _settings(data_dir))
    for aid in removed:
        del expected[aid]
    _check_store(data_dir, expected)


def test_a_writer_killed_mid_ingest_does_not_block_or_spoil_the_other(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    corpora = [tmp_path / "north.jsonl", tmp_path / "south.jsonl"]
    _write_corpus(corpora[0], "north", 5)
    _write_corpus(corpora[1], "south", 6)
    store = _fresh_store(data_dir)
    victim, survivor = _ingest(data_dir, corpora[0]), _ingest(data_dir, corpora[1])
    deadline = time.monotonic() + 300
    while store.count_chunks() < 300 and time.monotonic() < deadline:  # it is writing
        time.sleep(0.2)
    time.sleep(random.Random(7).uniform(0.0, 2.0))
    os.kill(victim.pid, signal.SIGKILL)  # perhaps holding the lock: the OS releases it
    victim.wait()
    _finish(survivor)
    _finish(_ingest(data_dir, corpora[0]))  # the rerun completes what the kill left
    _check_store(data_dir, _expected(corpora, _settings(data_dir)))


def test_a_running_serve_opens_another_process_ingest_before_its_next_question(
    tmp_path: Path,
) -> None:
    import threading

    from assistant.chain import Assistant
    from assistant.ui import watch_store

    data_dir = tmp_path / "store"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    _write_corpus(first, "east", 3)
    _write_corpus(second, "west", 4)
    _finish(_ingest(data_dir, first))
    served = Assistant(_settings(data_dir))  # as `serve` holds it
    assert served.retrieve("east report 7 harbour")
    stop = threading.Event()
    watch = threading.Thread(target=watch_store, args=(served, stop, 0.2), daemon=True)
    watch.start()
    try:
        _finish(_ingest(data_dir, second))
        rev = served.store.revision()
        deadline = time.monotonic() + 120
        while served.store._seen != rev and time.monotonic() < deadline:
            time.sleep(0.1)
        assert served.store._seen == rev, "the watch did not open the other process's write"
        assert not served.store.sync()  # the next question has nothing left to open
        hits = served.retrieve("In west report 42, the item", k=50)
        assert any(h.chunk.article_id == "west-042" for h in hits)
    finally:
        stop.set()
        watch.join(10)
