"""kill -9 in the middle of `assistant ingest`, again and again: the store stays consistent.

A JSONL feed of 300 small articles is ingested, then re-ingested in new editions (every article
changed, so every run rewrites everything) by processes that are killed with SIGKILL:

* at fixed points of the store's write order, by a harness that runs the real CLI and kills
  itself right after the n-th write of a kind (new chunks written, article records committed,
  old chunks deleted, revision bumped), so every gap between two writes is hit for certain;
* at seeded random moments, killing the real `assistant` console script from outside.

After every kill the store must be consistent: each article is stored exactly once, at its old or
its new version, with all of that version's chunks; chunks of an uncommitted version may remain
but retrieval never returns them; an article's text is one whole edition; a lexical index built
from the store holds exactly Chroma's chunk ids, and the revision changed whenever the chunk ids
did (so an index built before the crash knows it is stale). A final uninterrupted run completes
the last edition without duplicates and without embedding again what was already committed.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.chunking import chunk_article
from assistant.config import Settings
from assistant.loaders import load_file
from assistant.retrieve import Retriever
from assistant.store import Store, chunking_key
from assistant.types import Article, text_sha256
from tests.conftest import ROOT
from tests.integration.clienv import cli_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTICLES = 150
CHUNK_SIZE = 100  # one sentence per chunk: ~600 chunks a run, three embedding batches
SEED = 20251127
RANDOM_KILLS = 5
ASSISTANT_BIN = ROOT / ".venv" / "bin" / "assistant"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"

# Kill right after the n-th write of a kind (see HARNESS), in this order, each run starting
# from what the previous kill left. One batch writes: revision, chunks.upsert (new version),
# articles.upsert (commit), chunks.delete (old versions), revision; an ingest that finds
# orphans first repairs: revision, chunks.delete, revision.
FAULT_POINTS = (
    "chunks.upsert:1",  # new chunks written, not committed: orphans
    "chunks.delete:1",  # the next run's repair deleted them, its revision not yet moved
    "articles.upsert:1",  # committed, the previous version's chunks not yet deleted
    "chunks.delete:2",  # after repair, the batch deleted the old chunks, no revision yet
    "chunks.upsert:2",  # one batch complete, the second one's chunks written
)

HARNESS = r"""
import os, signal, sys

from chromadb.api.models.Collection import Collection

from assistant.store import REVISION_ID

kind, nth = os.environ["KILL_AFTER"].rsplit(":", 1)
counts = {}


def wrap(op):
    original = getattr(Collection, op)

    def write(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        ids = kwargs.get("ids")
        name = "revision" if ids == [REVISION_ID] else self.name.rsplit("-", 1)[-1]
        key = f"{name}.{op}"
        counts[key] = counts.get(key, 0) + 1
        print(f"write {key} #{counts[key]}", file=sys.stderr, flush=True)
        if key == kind and counts[key] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(Collection, op, write)


for op in ("add", "upsert", "update", "delete"):
    wrap(op)

from assistant.cli import main

sys.exit(main(sys.argv[1:]))
"""

_WORDS = [
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
    "library",
    "park",
    "museum",
    "ferry",
    "storm",
]


def _edition(k: int) -> dict[str, str]:
    """Article id -> text in edition `k`; every edition changes every article's text and the
    number of its sentences (so of its chunks) varies from edition to edition."""
    rng = random.Random(SEED + k)
    texts = {}
    for i in range(ARTICLES):
        sentences = [f"Story {i} edition {k}: the {_WORDS[i % len(_WORDS)]} project {i} moved."]
        for j in range(2 + (i + k) % 3):
            a, b = rng.sample(_WORDS, 2)
            sentences.append(f"The {a} and {b} teams met on day {j + 1} about item {i * 7 + j}.")
        texts[f"art-{i:04d}"] = " ".join(sentences)
    return texts


def _write_edition(path: Path, k: int) -> dict[str, str]:
    texts = _edition(k)
    with path.open("w", encoding="utf-8") as out:
        for aid, text in texts.items():
            out.write(json.dumps({"id": aid, "title": f"Story {aid}", "text": text}) + "\n")
    return texts


@dataclass
class State:
    """What the store held after a run."""

    chunk_ids: frozenset[str]
    revision: str
    versions: dict[str, str]
    orphans: int  # chunks of an uncommitted version, awaiting repair()
    editions: dict[int, int] = field(default_factory=dict)  # edition -> articles stored at it


class FakeQueryEmbedder:
    """Embeds every question as one fixed vector (a stored chunk's own), to aim a query."""

    model_id = EMBEDDING_MODEL

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = np.asarray(vector, dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.tile(self.vector, (len(texts), 1))

    def embed_query(self, text: str) -> np.ndarray:
        return self.vector


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, chunk_size=CHUNK_SIZE, chunk_overlap=0)


def _env(data_dir: Path) -> dict[str, str]:
    return cli_env(data_dir, CHUNK_SIZE)


def _open_store(data_dir: Path) -> Store:
    # A fresh client: the one cached for this path would keep the index it loaded before the
    # other process wrote.
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return Store(_settings(data_dir), EMBEDDING_MODEL)


def _all_chunk_metas(store: Store) -> dict[str, dict[str, Any]]:
    metas: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        got = store.chunks.get(include=["metadatas"], limit=1000, offset=offset)
        metas.update(
            {cid: dict(m or {}) for cid, m in zip(got["ids"], got["metadatas"] or [], strict=True)}
        )
        if len(got["ids"]) < 1000:
            return metas
        offset += 1000


def _check_consistent(
    data_dir: Path, editions: dict[int, dict[str, str]], previous: State | None, label: str
) -> State:
    """Assert every invariant of a store that may just have lost its writer to kill -9."""
    store = _open_store(data_dir)
    versions = store.versions()
    assert len(versions) == ARTICLES, f"{label}: {len(versions)} articles stored, not {ARTICLES}"
    got = store.articles.get(where={"kind": "article"}, include=["documents", "metadatas"])
    records = {
        aid: (doc or "", dict(meta or {}))
        for aid, doc, meta in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
        )
    }
    metas = _all_chunk_metas(store)
    by_version: dict[tuple[str, str], list[int]] = {}
    for meta in metas.values():
        by_version.setdefault((meta["article_id"], meta["version"]), []).append(meta["index"])

    stored_at: dict[int, int] = {}
    for aid, version in versions.items():
        text, meta = records[aid]
        # the commit marker describes the text it holds, and that text is one whole edition
        assert text_sha256(text) == meta["sha256"], f"{label}: {aid} text and hash disagree"
        found = [k for k, texts in editions.items() if texts[aid] == text]
        assert found, f"{label}: {aid} holds text of no edition: {text[:80]!r}"
        stored_at[found[0]] = stored_at.get(found[0], 0) + 1
        # ...with every chunk of its version, exactly once
        indexes = sorted(by_version.get((aid, version), []))
        assert indexes, f"{label}: committed article {aid} has no chunks"
        assert indexes == list(range(int(str(meta["chunks"])))), f"{label}: {aid} {indexes}"

    orphans = [cid for cid, m in metas.items() if versions.get(m["article_id"]) != m["version"]]
    _check_orphans_are_invisible(store, orphans, label)

    # a lexical index built now holds exactly Chroma's chunk ids...
    retriever = Retriever(_settings(data_dir), store, FakeQueryEmbedder(np.eye(384)[0]))  # type: ignore[arg-type]
    retriever.lexical.search("ferry project", 5)
    assert sorted(retriever.lexical._ids) == sorted(metas), f"{label}: lexical index != Chroma"
    # ...and one built before this run rebuilds itself, because the revision moved with the ids
    state = State(frozenset(metas), store.revision(), versions, len(orphans), stored_at)
    if previous is not None and state.chunk_ids != previous.chunk_ids:
        assert state.revision != previous.revision, (
            f"{label}: chunk ids changed but the revision did not; a lexical index built "
            "before the crash would never see the change"
        )
    return state


def _check_orphans_are_invisible(store: Store, orphans: list[str], label: str) -> None:
    """Aim queries straight at uncommitted chunks: retrieval returns committed text only."""
    if not orphans:
        return
    rows, vectors = store.chunks_by_ids(orphans[:3], with_embeddings=True)
    assert vectors is not None
    settings = store.settings.model_copy(update={"hybrid": False})
    for (cid, _), vector in zip(rows, vectors, strict=True):
        embedder = FakeQueryEmbedder(vector)
        hits = Retriever(settings, store, embedder).retrieve("aimed", k=10)  # type: ignore[arg-type]
        assert hits, f"{label}: retrieval found nothing at all"
        for hit in hits:
            article = store.get_article(hit.chunk.article_id)
            assert article is not None
            quoted = article.text[hit.chunk.start : hit.chunk.end]
            assert quoted == hit.chunk.text, f"{label}: retrieval returned {cid}, uncommitted"


def _last_write(data_dir: Path) -> int:
    """Newest modification time of the store's files (Chroma writes them on every write)."""
    files = [p for p in (data_dir / "chroma").rglob("*") if p.is_file()]
    return max((p.stat().st_mtime_ns for p in files), default=0)


def _start(data_dir: Path, feed: Path, stdout: int) -> subprocess.Popen[bytes]:
    """The real console script, ingesting `feed`."""
    return subprocess.Popen(
        [str(ASSISTANT_BIN), "ingest", "--json", str(feed)],
        env=_env(data_dir),
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )


def _wait_for_batch_writes(data_dir: Path, proc: subprocess.Popen[bytes]) -> float:
    """Wait for the second burst of writes to the store and return when it began.

    The first burst is Chroma opening the store (and repair(), if a crash left orphans); the
    next comes after the model has loaded and embedded the first batch, when it is stored.
    """
    last, last_change, bursts = _last_write(data_dir), 0.0, 0
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        now, written = time.monotonic(), _last_write(data_dir)
        if written != last:
            if now - last_change > 1.0:
                bursts += 1
                if bursts == 2:
                    return now
            last, last_change = written, now
        time.sleep(0.02)
    return time.monotonic()


def _run_harness(data_dir: Path, feed: Path, point: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HARNESS, "ingest", "--json", str(feed)],
        env={**_env(data_dir), "KILL_AFTER": point},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ingest(data_dir: Path, feed: Path) -> dict[str, Any]:
    run = subprocess.run(
        [str(ASSISTANT_BIN), "ingest", "--json", str(feed)],
        env=_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)  # type: ignore[no-any-return]


@pytest.mark.timeout(600)
def test_kill_9_during_ingest_loses_nothing_and_a_rerun_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    feed = tmp_path / "feed.jsonl"
    editions = {0: _write_edition(feed, 0)}
    baseline = _start(data_dir, feed, subprocess.PIPE)
    batches_start = _wait_for_batch_writes(data_dir, baseline)
    stdout, _ = baseline.communicate(timeout=300)
    batches_time = time.monotonic() - batches_start  # from the first stored batch to the end
    report = json.loads(stdout)
    assert len(report["added"]) == ARTICLES and not report["errors"]
    state = _check_consistent(data_dir, editions, None, "baseline")
    k = 0
    log: list[str] = []

    # 1. killed at every gap of the write order
    for point in FAULT_POINTS:
        k += 1
        editions[k] = _write_edition(feed, k)
        run = _run_harness(data_dir, feed, point)
        assert run.returncode == -signal.SIGKILL, (point, run.returncode, run.stderr[-2000:])
        writes = [line for line in run.stderr.splitlines() if line.startswith("write ")]
        kind, nth = point.split(":")
        assert writes[-1] == f"write {kind} #{nth}", writes  # died right after that write
        state = _check_consistent(data_dir, editions, state, f"killed after {point}")
        log.append(
            f"after {point}: {len(writes)} writes, {state.orphans} orphan chunks, "
            f"editions {sorted(state.editions.items())}"
        )

    # 2. killed from outside at seeded random moments while batches are being stored (start-up
    # and loading the model take most of a run's time, more so on a busy machine)
    rng = random.Random(SEED)
    landed = 0
    for _ in range(RANDOM_KILLS):
        k += 1
        editions[k] = _write_edition(feed, k)
        delay = rng.uniform(0.0, 0.6 * batches_time)
        proc = _start(data_dir, feed, subprocess.DEVNULL)
        _wait_for_batch_writes(data_dir, proc)
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = _check_consistent(data_dir, editions, state, f"killed {delay:.2f} s in")
        if 0 < state.editions.get(k, 0) < ARTICLES or state.orphans:
            landed += 1  # caught mid-ingest: part of the edition committed, or orphans left
        log.append(
            f"{delay:.2f} s into its batches{' (had finished)' if finished else ''}: "
            f"{state.orphans} orphan chunks, editions {sorted(state.editions.items())}"
        )
    print("\n".join(log))
    assert landed >= 2, f"only {landed} random kills landed mid-ingest:\n" + "\n".join(log)

    # 3. a run killed once two batches are committed; a rerun completes its edition without
    # duplicates and without embedding again what those batches committed
    k += 1
    editions[k] = _write_edition(feed, k)
    run = _run_harness(data_dir, feed, "articles.upsert:2")
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    state = _check_consistent(data_dir, editions, state, "killed after the second commit")
    assert 0 < state.editions.get(k, 0) < ARTICLES, state.editions
    store = _open_store(data_dir)
    final = [a for a in load_file(feed) if isinstance(a, Article)]
    assert len(final) == ARTICLES
    key = chunking_key(_settings(data_dir))
    committed = store.committed([a.id for a in final])
    done = {a.id for a in final if committed.get(a.id) == (a.sha256, key)}
    todo = [a for a in final if a.id not in done]
    expected_chunks = sum(len(chunk_article(a, size=CHUNK_SIZE, overlap=0)) for a in todo)
    del store
    report = _ingest(data_dir, feed)
    assert set(report["unchanged"]) == done and len(done) == state.editions[k]
    assert set(report["updated"]) == {a.id for a in todo} and report["added"] == []
    assert report["chunks"] == expected_chunks, "an article already committed was embedded again"
    state = _check_consistent(data_dir, editions, state, "rerun")
    assert state.orphans == 0
    assert state.editions == {k: ARTICLES}
    total = sum(len(chunk_article(a, size=CHUNK_SIZE, overlap=0)) for a in final)
    assert len(state.chunk_ids) == total
    print(
        f"kills: {len(FAULT_POINTS) + 1} at write points + {RANDOM_KILLS} random "
        f"({landed} mid-ingest); rerun embedded {report['chunks']} chunks, "
        f"skipped {len(done)} committed articles"
    )
