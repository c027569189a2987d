"""The assistant against real servers on 127.0.0.1, started and stopped here: `chroma run` for
the store and llama-cpp-python's OpenAI-compatible server for the LLM."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.errors import ModelError, StoreError
from assistant.store import Store
from benchmarks.scale import chroma_server, free_port
from benchmarks.synth import collect_paragraphs, default_corpus, synth_articles, write_jsonl
from tests.conftest import ROOT, SEEDS
from tests.integration.test_ingest_stream import FakeEmbedder

pytestmark = [pytest.mark.integration, pytest.mark.server]

SEED_ID = "000_0f8c7ba43273ca44"
TARIFF = "What tariff did Trump threaten?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `chroma run` for the module; each test uses collections of its own."""
    with chroma_server(tmp_path_factory.mktemp("chroma") / "data") as (url, _pid):
        yield url


@pytest.fixture
def on_server(make_assistant, chroma_url: str):  # type: ignore[no-untyped-def]
    """Build Assistants on the shared server, in a collection unique to this test."""
    collection = f"t{uuid.uuid4().hex[:12]}"

    def make(**overrides: Any) -> Assistant:
        overrides.setdefault("chroma_url", chroma_url)
        overrides.setdefault("collection", collection)
        return make_assistant(**overrides)  # type: ignore[no-any-return]

    return make


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        cwd=ROOT,
        timeout=600,
    )


def _error_line(stderr: str) -> str:
    """The CLI's error line; nothing like a traceback may come with it."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


# --- Chroma server --------------------------------------------------------------------------


def test_server_mode_answers_like_embedded_mode(seeded, on_server) -> None:  # type: ignore[no-untyped-def]
    server = on_server()
    report = server.ingest([SEEDS])
    assert report.added == [SEED_ID] and report.chunks == 9
    assert server.store.stats()["backend"] == "chroma-server"

    assert [h.chunk.id for h in server.retrieve(TARIFF)] == [
        h.chunk.id for h in seeded.retrieve(TARIFF)
    ]
    embedded, remote = seeded.ask(TARIFF), server.ask(TARIFF)
    assert "100%" in remote.text and remote.citations
    assert remote.text == embedded.text
    assert [c.quote for c in remote.citations] == [c.quote for c in embedded.citations]
    article = server.article(SEED_ID)
    for c in remote.citations:
        assert article.text[c.start : c.end] == c.quote


def test_server_mode_dedupes_removes_and_reingests(on_server) -> None:  # type: ignore[no-untyped-def]
    a = on_server()
    a.ingest([SEEDS])
    calls = a.embedder.calls

    again = a.ingest([SEEDS])
    assert again.unchanged == [SEED_ID] and again.chunks == 0
    assert a.embedder.calls == calls

    assert a.remove(SEED_ID)
    assert (a.store.count_chunks(), a.store.count_articles(), a.articles()) == (0, 0, [])
    assert a.retriever.lexical.search("tariff", 5) == []
    assert a.ask(TARIFF).abstained
    assert not a.remove(SEED_ID)

    report = a.ingest([SEEDS])
    assert report.added == [SEED_ID]
    assert (a.store.count_chunks(), a.store.count_articles()) == (9, 1)
    hits = a.retrieve(TARIFF)
    assert hits and hits[0].chunk.article_id == SEED_ID and hits[0].lexical


def test_lexical_index_follows_writes_of_other_processes(on_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reader = on_server()
    reader.ingest([SEEDS])
    assert reader.retriever.lexical.search("tariff", 5)  # BM25 is built now
    assert reader.retriever.lexical.search("zorblatt", 5) == []

    story = tmp_path / "zorblatt.txt"
    story.write_text(
        "Zorblatt festival opens\nThe zorblatt festival opened in Porto on Monday with 40 bands.\n",
        encoding="utf-8",
    )
    settings = reader.settings
    out = _cli(
        "ingest",
        str(story),
        "--json",
        env={
            "ASSISTANT_CHROMA_URL": str(settings.chroma_url),
            "ASSISTANT_COLLECTION": settings.collection,
        },
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == ["zorblatt"]

    found = reader.retriever.lexical.search("zorblatt", 5)
    assert found and all(cid.startswith("zorblatt#") for cid, _ in found)
    hit = reader.retrieve("When did the zorblatt festival open?")[0]
    assert hit.chunk.article_id == "zorblatt" and hit.lexical

    other = Assistant(settings, embedder=reader.embedder)  # a second instance in this process
    assert other.remove("zorblatt")
    assert reader.retriever.lexical.search("zorblatt", 5) == []
    assert [a.id for a in reader.articles()] == [SEED_ID]


def test_repair_spares_chunks_another_process_is_committing(on_server) -> None:  # type: ignore[no-untyped-def]
    from assistant.store import REPAIR_GRACE_S

    a = on_server()
    a.ingest([SEEDS])
    now = int(time.time())
    vector = [[1.0] + [0.0] * 383]
    for cid, written in (("fresh#0@v1", now), ("crashed#0@v1", now - int(REPAIR_GRACE_S) - 60)):
        # what an ingest in another process leaves between writing chunks and committing
        a.store.chunks.upsert(
            ids=[cid],
            embeddings=vector,
            documents=["uncommitted"],
            metadatas=[{"article_id": cid.split("#")[0], "version": "v1", "written": written}],
        )

    other = Assistant(a.settings, embedder=a.embedder)
    assert other.ingest([SEEDS]).unchanged == [SEED_ID]  # an ingest starts with repair()

    left = set(a.store.chunks.get(ids=["fresh#0@v1", "crashed#0@v1"], include=[])["ids"])
    assert left == {"fresh#0@v1"}
    assert other.store.repair(min_age=0) == 1
    assert a.store.count_chunks() == 9


def test_unreachable_or_malformed_chroma_url_is_one_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store(Settings(chroma_url=url, data_dir=tmp_path), "all-MiniLM-L6-v2")
    assert time.monotonic() - started < 30
    message = str(err.value)
    assert "\n" not in message and url in message and "ASSISTANT_CHROMA_URL" in message
    assert "unreachable" in message

    with pytest.raises(StoreError, match=re.escape("ASSISTANT_CHROMA_URL='127.0.0.1:8000' is no")):
        Store(Settings(chroma_url="127.0.0.1:8000", data_dir=tmp_path), "all-MiniLM-L6-v2")

    out = _cli("stats", env={"ASSISTANT_CHROMA_URL": url, "ASSISTANT_DATA_DIR": str(tmp_path)})
    assert out.returncode == 1
    line = _error_line(out.stderr)
    assert url in line and "ASSISTANT_CHROMA_URL" in line


def test_server_stopping_mid_session_is_a_store_error(make_assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with chroma_server(tmp_path / "short-lived") as (url, _pid):
        a = make_assistant(chroma_url=url)
        a.ingest([SEEDS])
        assert a.retrieve(TARIFF)
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        a.retrieve(TARIFF)
    assert time.monotonic() - started < 30
    message = str(err.value)
    assert "\n" not in message and f"Chroma server at {url} (ASSISTANT_CHROMA_URL)" in message


def test_stats_json_in_server_and_embedded_mode(on_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = on_server()
    a.ingest([SEEDS])
    server_env = {
        "ASSISTANT_CHROMA_URL": str(a.settings.chroma_url),
        "ASSISTANT_COLLECTION": a.settings.collection,
    }
    out = _cli("stats", "--json", env=server_env)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert (info["articles"], info["chunks"]) == (1, 9)
    assert info["backend"] == "chroma-server" and str(a.settings.chroma_url) in info["store"]
    assert info["embedding_model"] == "all-MiniLM-L6-v2"
    assert info["size_bytes"] is None  # a server does not tell its disk use
    assert {"llm", "llm_model"} <= set(info)

    human = _cli("stats", env=server_env)
    assert human.returncode == 0
    assert "chroma-server" in human.stdout and "articles" in human.stdout

    local = tmp_path / "local"
    assert _cli("ingest", str(SEEDS), env={"ASSISTANT_DATA_DIR": str(local)}).returncode == 0
    info = json.loads(_cli("stats", "--json", env={"ASSISTANT_DATA_DIR": str(local)}).stdout)
    assert (info["articles"], info["chunks"], info["backend"]) == (1, 9, "chroma-embedded")
    assert info["size_bytes"] > 0


@pytest.mark.slow
def test_20k_chunks_on_a_server(on_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """20k chunks through the real streaming ingest into a Chroma server.

    MiniLM embeds roughly 15-200 chunks/s on 2 shared cores, too slow for `make test`, so the
    bulk gets FakeEmbedder's random vectors (stored under the real model's id); the seeds are
    embedded for real afterwards and must be found among the 20k chunks by dense and BM25
    search, and answered with a citation.
    """
    corpus = tmp_path / "synth.jsonl"
    # RealTime QA text when the shared eval data is there, else seeds/ alone; no paragraph
    # about tariffs, so that the seed article is the one that answers the question
    paragraphs = collect_paragraphs(SEEDS, default_corpus())
    paragraphs = [p for p in paragraphs if "tariff" not in p.lower()]
    n_articles = write_jsonl(synth_articles(5000, paragraphs, seed=20), corpus)
    real = on_server()
    bulk = Assistant(real.settings, embedder=FakeEmbedder(real.settings))
    report = bulk.ingest([corpus])
    assert report.ok and len(report.added) == n_articles
    assert report.chunks >= 20_000
    assert bulk.embedder.texts_embedded == report.chunks

    seeds = real.ingest([SEEDS])
    assert seeds.chunks == 9
    stats = real.stats()
    assert (stats["articles"], stats["chunks"]) == (n_articles + 1, report.chunks + 9)

    started = time.monotonic()
    lexical = real.retriever.lexical.search("tariff Chinese products", 5)
    rebuild_s = time.monotonic() - started
    assert lexical and lexical[0][0].startswith(SEED_ID)
    answer = real.ask(TARIFF)
    assert "100%" in answer.text and answer.citations
    assert all(c.article_id == SEED_ID for c in answer.citations)
    print(
        f"20k: ingest {report.chunks / report.seconds:.0f} chunks/s, BM25 build {rebuild_s:.1f} s"
    )


# --- OpenAI-compatible LLM server -----------------------------------------------------------


@contextmanager
def llama_server(
    model_path: Path, log_dir: Path, *, timeout: float = 180.0
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """`python -m llama_cpp.server` on a free port; yields (base url, model id, process)."""
    port = free_port()
    log = (log_dir / f"llama-server-{port}.log").open("wb")
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(os.cpu_count() or 1),
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5) as resp:
                    model_id = json.load(resp)["data"][0]["id"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not answer in {timeout:g}s") from None
                time.sleep(0.5)
        yield base, model_id, proc
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_openai_compatible_server_answers_streams_and_reports_when_down(
    embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from assistant.models import ensure
    from assistant.types import Answer

    store_dir = tmp_path / "store"
    with llama_server(ensure("fast"), tmp_path) as (base, model_id, proc):
        settings = Settings(
            data_dir=store_dir,
            llm="openai",
            openai_base_url=base,
            llm_model=model_id,
            request_timeout=300,  # 2 shared cores: a busy machine makes the model slow
            max_retries=1,
        )
        a = Assistant(settings, embedder=embedder)
        assert a.ingest([SEEDS]).ok
        answer = a.ask(TARIFF)
        assert "100%" in answer.text, answer
        assert answer.citations and answer.model == f"{model_id} (openai)"
        article = a.article(SEED_ID)
        for c in answer.citations:
            assert article.text[c.start : c.end] == c.quote

        items = list(a.stream("Which countries will Trump visit on his trip to Asia?"))
        assert isinstance(items[-1], Answer)
        assert len([p for p in items[:-1] if isinstance(p, str)]) > 1
        _stop(proc)

    down = Assistant(
        settings.model_copy(update={"request_timeout": 10, "max_retries": 1}), embedder=embedder
    )
    started = time.monotonic()
    with pytest.raises(ModelError) as err:
        down.ask(TARIFF)
    assert time.monotonic() - started < 60
    message = str(err.value)
    assert "\n" not in message
    assert f"LLM server at {base} is unreachable (ASSISTANT_OPENAI_BASE_URL)" in message

    out = _cli(
        "ask",
        TARIFF,
        env={
            "ASSISTANT_DATA_DIR": str(store_dir),
            "ASSISTANT_LLM": "openai",
            "ASSISTANT_OPENAI_BASE_URL": base,
            "ASSISTANT_LLM_MODEL": model_id,
            "ASSISTANT_REQUEST_TIMEOUT": "10",
            "ASSISTANT_MAX_RETRIES": "1",
        },
    )
    assert out.returncode == 1
    assert "ASSISTANT_OPENAI_BASE_URL" in _error_line(out.stderr)
