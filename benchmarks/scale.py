"""Ingest and query figures for a large store, embedded or on a Chroma server.

    python -m benchmarks.scale --chunks 100000 --mode embedded --out /tmp/scale-embedded.json
    python -m benchmarks.scale --chunks 100000 --mode server --out /tmp/scale-server.json

Embedding 100k chunks with MiniLM takes hours on 2 cores, so the bulk of the corpus goes
through the real streaming ingest (`Assistant.ingest` on a synthetic JSONL: loading, chunking,
store look-ups, crash-safe writes) with `CheapEmbedder`, which returns random unit vectors
instead of running the model. Embedding itself is measured separately on `--real-chunks`
chunks with the real model, and the estimate of a real ingest combines both rates. Queries use
the real model, so their latency (HNSW search over every vector, BM25 over every chunk) is real.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embeddings import Embedder
from benchmarks.synth import ROOT, collect_paragraphs, default_corpus, synth_articles, write_jsonl

CHUNKS_PER_ARTICLE = 4.2  # measured mean for synth articles at chunk_size 600, overlap 120
QUESTIONS = (
    "What tariff did Trump threaten?",
    "Which countries will Trump visit on his trip to Asia?",
    "Why did the restaurant chain close locations?",
    "What did the tennis star say about returning?",
    "How did interest rates change this year?",
    "Who won the election?",
    "What happened to gas prices?",
    "What did the court rule?",
)


class CheapEmbedder(Embedder):
    """Random unit vectors instead of the model: for filling big stores fast, never for answers.

    It reports the real model's id so that the store it fills can be queried with the real
    model: the vectors are noise, but search costs the same.
    """

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        seed = int.from_bytes(hashlib.sha256("\0".join(texts).encode()).digest()[:8], "little")
        vectors = np.random.default_rng(seed).standard_normal((len(texts), 384))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(path: Path, *, timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """Run `chroma run` on a free port of 127.0.0.1; yields (url, pid); stops it after."""
    import urllib.request

    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (path.parent / f"chroma-{port}.log").open("wb")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer within {timeout:g}s") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory in MB of this process, or of `pid` (from /proc, Linux)."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    """Resident memory of this process right now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def measure(
    settings: Settings, corpus: Path, real_chunks: int, server_pid: int | None
) -> dict[str, Any]:
    """Fill the store from `corpus` and time ingest, lexical rebuild and queries."""
    from assistant.chain import Assistant

    out: dict[str, Any] = {}
    bulk = Assistant(settings, embedder=CheapEmbedder(settings))
    started = time.perf_counter()
    report = bulk.ingest([corpus])
    seconds = time.perf_counter() - started
    assert report.ok, report.errors[:3]
    out["bulk_articles"] = len(report.added)
    out["bulk_chunks"] = report.chunks
    out["bulk_ingest_s"] = round(seconds, 1)
    out["bulk_ingest_chunks_per_s"] = round(report.chunks / seconds, 1)
    out["rss_after_bulk_mb"] = round(peak_rss_mb(), 0)

    started = time.perf_counter()
    again = bulk.ingest([corpus])
    out["reingest_unchanged_s"] = round(time.perf_counter() - started, 1)
    assert again.chunks == 0 and len(again.unchanged) == out["bulk_articles"]

    # A second assistant with the real model: its first query builds BM25 from the store.
    real = Assistant(settings)
    real.embed(["warm up"])
    texts = _real_texts(settings, real_chunks)
    started = time.perf_counter()
    real.embed(texts)
    embed_s = time.perf_counter() - started
    out["embed_chunks"] = len(texts)
    out["embed_chunks_per_s"] = round(len(texts) / embed_s, 1)
    rate_put = out["bulk_ingest_chunks_per_s"]
    out["estimated_real_ingest_chunks_per_s"] = round(
        1 / (1 / out["embed_chunks_per_s"] + 1 / rate_put), 1
    )

    before = rss_mb()
    started = time.perf_counter()
    real.retrieve(QUESTIONS[0])
    out["first_query_ms_with_bm25_build"] = _ms(time.perf_counter() - started)
    out["bm25_index_rss_mb"] = round(rss_mb() - before, 0)
    latencies = []
    for question in QUESTIONS * 3:
        started = time.perf_counter()
        real.retrieve(question)
        latencies.append(time.perf_counter() - started)
    out["query_ms_median"] = _ms(statistics.median(latencies))
    out["query_ms_p90"] = _ms(sorted(latencies)[int(len(latencies) * 0.9)])
    dense = real.derive(hybrid=False)
    dense._store = real.store  # same store object: no second connection
    latencies = []
    for question in QUESTIONS * 3:
        started = time.perf_counter()
        dense.retrieve(question)
        latencies.append(time.perf_counter() - started)
    out["dense_only_query_ms_median"] = _ms(statistics.median(latencies))

    # The real ingest path end to end on the seeds (real embeddings).
    started = time.perf_counter()
    seeds = real.ingest([ROOT / "seeds"])
    out["seeds_real_ingest"] = {
        "chunks": seeds.chunks,
        "s": round(time.perf_counter() - started, 2),
    }
    started = time.perf_counter()
    hits = real.retrieve(QUESTIONS[0])
    out["query_after_write_ms"] = _ms(time.perf_counter() - started)
    out["tariff_top_hit"] = hits[0].chunk.article_id if hits else None

    stats = real.stats()
    out["stats"] = {k: stats[k] for k in ("articles", "chunks", "backend", "size_bytes")}
    out["peak_rss_mb"] = round(peak_rss_mb(), 0)
    if server_pid is not None:
        out["server_peak_rss_mb"] = round(peak_rss_mb(server_pid), 0)
    return out


def _real_texts(settings: Settings, n: int) -> list[str]:
    from assistant.chunking import chunk_article
    from assistant.types import Article

    paragraphs = collect_paragraphs(ROOT / "seeds", default_corpus())
    texts: list[str] = []
    for record in synth_articles(n, paragraphs, seed=99):
        article = Article(id=record["id"], title=record["title"], text=record["text"])
        texts += [
            c.text
            for c in chunk_article(
                article, size=settings.chunk_size, overlap=settings.chunk_overlap
            )
        ]
        if len(texts) >= n:
            break
    return texts[:n]


def main(argv: list[str] | None = None) -> int:
    """Command line: build a synthetic corpus of about --chunks chunks and measure."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--chunks", type=int, default=20000, help="approximate chunks to store")
    parser.add_argument("--mode", choices=("embedded", "server"), default="embedded")
    parser.add_argument("--real-chunks", type=int, default=2000, help="chunks embedded for real")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the store here")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory(prefix="assistant-scale-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        corpus = work / "synth.jsonl"
        n_articles = max(1, round(args.chunks / CHUNKS_PER_ARTICLE))
        write_jsonl(
            synth_articles(n_articles, collect_paragraphs(ROOT / "seeds", default_corpus())), corpus
        )
        figures: dict[str, Any] = {
            "mode": args.mode,
            "target_chunks": args.chunks,
            "cpus": os.cpu_count(),
        }
        figures["load_avg_before"] = os.getloadavg()
        if args.mode == "server":
            with chroma_server(work / "chroma-server") as (url, pid):
                settings = Settings(chroma_url=url, collection="scale", data_dir=work / "data")
                figures |= measure(settings, corpus, args.real_chunks, pid)
        else:
            settings = Settings(data_dir=work / "data", collection="scale")
            figures |= measure(settings, corpus, args.real_chunks, None)
        figures["load_avg_after"] = os.getloadavg()
    text = json.dumps(figures, indent=2, default=str)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
