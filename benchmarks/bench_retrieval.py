"""Figure 3: retrieval latency at growing store sizes, and figure 5b: ingest memory by size.

Each store is filled in a fresh child process through the real streaming ingest
(`Assistant.ingest` on a synthetic JSONL of real paragraphs, see benchmarks/synth.py) with
`CheapEmbedder` from benchmarks/scale.py: random unit vectors instead of the model, because
embedding 100k chunks with MiniLM takes hours on 2 cores. Loading, chunking, store look-ups and
writes are real, so the child's peak RSS shows whether ingest memory grows with the corpus.

Queries then run in this process with the real model: `Assistant.retrieve` = embed the question
+ dense search (Chroma HNSW over every vector) + BM25 over every chunk + fusion and look-ups.
Random vectors are a worst case for HNSW, so dense search is no faster than with real ones. The
sizes are queried in interleaved order, question by question, so load changes hit all alike.

    python -m benchmarks.bench_retrieval --build DIR --chunks N   # the child, prints JSON
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import Bench, child_env, peak_rss_mb, percentile, rounded, row, stopwatch

QUICK_SIZES = (1_000, 10_000)
FULL_SIZES = (1_000, 10_000, 100_000)
TARGET_P50_MS = 30.0
TARGET_AT = 100_000
FIRST_QUERY_BOUND = 3.0  # first query of a new process / median query (issue 15)
RSS_BEYOND_CHROMA_KB = 2.0  # ingest peak RSS growth per chunk beyond Chroma's own (issue 15)


def _synth_corpus(data_dir: Path, chunks: int, seed: int) -> Path:
    """Write the synthetic JSONL of about `chunks` chunks beside `data_dir`; returns its path."""
    from benchmarks.scale import CHUNKS_PER_ARTICLE
    from benchmarks.synth import SEEDS, collect_paragraphs, default_corpus, synth_articles
    from benchmarks.synth import write_jsonl as write_synth

    corpus = data_dir.parent / "synth.jsonl"
    paragraphs = collect_paragraphs(SEEDS, default_corpus())
    write_synth(synth_articles(round(chunks / CHUNKS_PER_ARTICLE), paragraphs, seed=seed), corpus)
    return corpus


def _kb_per_chunk(small: dict[str, Any], big: dict[str, Any]) -> float:
    """Peak RSS growth per chunk between two builds (each with `peak_rss_mb` and `chunks`)."""
    grown = (big["peak_rss_mb"] - small["peak_rss_mb"]) * 1024
    return float(grown / max(1, big["chunks"] - small["chunks"]))


def build_store(data_dir: Path, chunks: int, seed: int) -> dict[str, Any]:
    """Fill a fresh store with about `chunks` chunks of synthetic articles (cheap vectors).

    Returns:
        Chunks and articles stored, seconds of the ingest alone, and this process's peak RSS.
    """
    from assistant.chain import Assistant
    from assistant.config import Settings
    from benchmarks.scale import CheapEmbedder

    corpus = _synth_corpus(data_dir, chunks, seed)
    settings = Settings(data_dir=data_dir, chroma_url=None)
    assistant = Assistant(settings, embedder=CheapEmbedder(settings))
    rss_before = peak_rss_mb()
    with stopwatch() as elapsed:
        report = assistant.ingest([corpus])
    if report.errors:
        raise RuntimeError(f"ingest of {corpus}: {report.errors[0]}")
    return {
        "chunks": report.chunks,
        "articles": len(report.added),
        "ingest_s": round(elapsed(), 2),
        "peak_rss_mb_before_ingest": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def build_chroma_only(data_dir: Path, chunks: int, seed: int) -> dict[str, Any]:
    """The baseline of `build_store`: the same articles chunked the same way, their records
    upserted straight into two Chroma collections (chunks, articles), nothing else.

    Returns:
        Chunks written and this process's peak RSS.
    """
    import chromadb
    import numpy as np

    from assistant.chain import INGEST_BATCH_CHUNKS
    from assistant.chunking import chunk_article
    from assistant.config import Settings
    from assistant.loaders import load_file
    from assistant.memory import limit_arenas
    from assistant.types import Article

    corpus = _synth_corpus(data_dir, chunks, seed)
    settings = Settings(data_dir=data_dir, chroma_url=None)
    limit_arenas()  # as the store does
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    space = {"hnsw:space": "cosine"}
    chunk_col = client.get_or_create_collection("baseline-chunks", metadata=space)
    article_col = client.get_or_create_collection("baseline-articles", metadata=space)
    rng = np.random.default_rng(seed)
    written = 0
    chunk_rows: list[tuple[str, str, dict[str, Any]]] = []
    article_rows: list[tuple[str, str, dict[str, Any]]] = []

    def flush() -> None:  # pages of about the ingest's batch, as `Store.put` writes them
        if not chunk_rows:
            return
        vectors = rng.standard_normal((len(chunk_rows), 384)).astype(np.float32)
        chunk_col.upsert(
            ids=[r[0] for r in chunk_rows],
            embeddings=vectors,
            documents=[r[1] for r in chunk_rows],
            metadatas=[r[2] for r in chunk_rows],
        )
        article_col.upsert(
            ids=[r[0] for r in article_rows],
            embeddings=rng.standard_normal((len(article_rows), 384)).astype(np.float32),
            documents=[r[1] for r in article_rows],
            metadatas=[r[2] for r in article_rows],
        )
        chunk_rows.clear()
        article_rows.clear()

    for article in load_file(corpus):
        if not isinstance(article, Article):
            continue
        pieces = chunk_article(article, size=settings.chunk_size, overlap=settings.chunk_overlap)
        meta = {"article_id": article.id, "title": article.title, "url": article.url or ""}
        chunk_rows += [
            (f"{article.id}:{c.index}", c.text, {**meta, "start": c.start, "end": c.end})
            for c in pieces
        ]
        minhash = {"title": article.title, "sha256": article.sha256, "minhash": "x" * 344}
        article_rows.append((article.id, article.text, minhash))
        written += len(pieces)
        if len(chunk_rows) >= INGEST_BATCH_CHUNKS:
            flush()
    flush()
    return {"chunks": written, "peak_rss_mb": round(peak_rss_mb(), 1)}


def _chroma_first_query(data_dir: Path, vector: list[float], n: int) -> float:
    """Chroma alone, cold: open the baseline store with a client of its own, read one record by
    id and answer one dense query, as a new process's first question must (ms). What our first
    query costs beyond this is ours; the rest is Chroma loading its index from disk."""
    import chromadb
    import numpy as np

    with stopwatch() as elapsed:
        client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
        client.get_collection("baseline-articles").get(ids=["none"])
        client.get_collection("baseline-chunks").query(
            query_embeddings=np.asarray([vector], dtype=np.float32), n_results=n
        )
    return elapsed() * 1000


def _build_in_child(
    bench: Bench, data_dir: Path, chunks: int, seed: int, *, chroma_only: bool = False
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_retrieval",
        "--build",
        str(data_dir),
        "--chunks",
        str(chunks),
        "--seed",
        str(seed),
        *(["--chroma-only"] if chroma_only else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(), check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"building the {chunks}-chunk store failed: {tail[0]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(bench: Bench) -> dict[str, Any]:
    """Build the stores, then time `Assistant.retrieve` on each; see the module docstring."""
    from assistant.chain import Assistant
    from benchmarks.scale import QUESTIONS

    sizes = QUICK_SIZES if bench.quick else FULL_SIZES
    reps = 5 if bench.quick else 8
    built: dict[int, dict[str, Any]] = {}
    hybrid: dict[int, Any] = {}
    dense: dict[int, Any] = {}
    first_ms: dict[int, float] = {}
    first_built_ms: dict[int, float] = {}
    chroma_first_ms: dict[int, float] = {}
    warm_first_ms: dict[int, float] = {}
    for seed, size in enumerate(sizes):
        data_dir = bench.work / f"retrieval-{size}" / "data"
        bench.log(f"retrieval: building a {size}-chunk store (cheap vectors, child process)")
        built[size] = _build_in_child(bench, data_dir, size, seed)
        bench.log(f"retrieval: {built[size]}")
        settings = bench.settings(f"retrieval-{size}")
        hybrid[size] = Assistant(settings, embedder=bench.embedder)
        dense[size] = Assistant(
            settings.model_copy(update={"hybrid": False}), embedder=bench.embedder
        )
        # The first question of a new process, measured first (it pays the process's one-time
        # costs too): BM25 loaded from what the ingest saved. Then, for the figure before the
        # index was kept on disk, a second assistant that builds it from every chunk in Chroma.
        with stopwatch() as elapsed:
            hybrid[size].retrieve(QUESTIONS[0])
        first_ms[size] = elapsed() * 1000
        baseline = bench.work / f"retrieval-{size}-chroma" / "data"
        bench.log(f"retrieval: the same records straight into Chroma (baseline, {size})")
        built[size]["chroma_only"] = _build_in_child(bench, baseline, size, seed, chroma_only=True)
        vector = bench.embedder.embed_query(QUESTIONS[0])
        chroma_first_ms[size] = _chroma_first_query(baseline, vector, settings.candidates)
        rebuilt = Assistant(settings, embedder=bench.embedder)
        rebuilt.retriever.lexical.cache_dir = None
        with stopwatch() as elapsed:
            rebuilt.retrieve(QUESTIONS[0])
        first_built_ms[size] = elapsed() * 1000
        del rebuilt
        # What `serve` does before its first question (assistant.ui.warm_up): one retrieval in
        # a thread at start-up, so the user's first question finds Chroma's index loaded.
        served = Assistant(settings, embedder=bench.embedder)
        served.retrieve("warm up the retrieval models")
        with stopwatch() as elapsed:
            served.retrieve(QUESTIONS[0])
        warm_first_ms[size] = elapsed() * 1000
        del served
        dense[size].retrieve(QUESTIONS[0])

    times: dict[int, list[float]] = {s: [] for s in sizes}
    dense_times: dict[int, list[float]] = {s: [] for s in sizes}
    embed_times: list[float] = []
    # Every measurement of a question in turn, starting at a different one for each question:
    # what runs right after the model (whose threads linger) changes, so no size is favoured.
    tasks: list[tuple[str, int]] = [("embed", 0)]
    tasks += [("hybrid", s) for s in sizes] + [("dense", s) for s in sizes]
    step = 0
    for _ in range(reps):
        for question in QUESTIONS:
            step += 1
            for kind, size in tasks[step % len(tasks) :] + tasks[: step % len(tasks)]:
                with stopwatch() as elapsed:
                    if kind == "embed":
                        bench.embedder.embed_query(question)
                    else:
                        (hybrid if kind == "hybrid" else dense)[size].retrieve(question)
                ms = elapsed() * 1000
                if kind == "embed":
                    embed_times.append(ms)
                else:
                    (times if kind == "hybrid" else dense_times)[size].append(ms)

    p50 = {s: percentile(times[s], 50) for s in sizes}
    p95 = {s: percentile(times[s], 95) for s in sizes}
    small, big = sizes[0], sizes[-1]
    chunks_small, chunks_big = built[small]["chunks"], built[big]["chunks"]
    growth = p50[big] / p50[small]
    size_ratio = chunks_big / chunks_small
    rss_small, rss_big = built[small]["peak_rss_mb"], built[big]["peak_rss_mb"]
    kb_per_chunk = _kb_per_chunk(built[small], built[big])
    only_small, only_big = (built[s]["chroma_only"] for s in (small, big))
    chroma_kb = _kb_per_chunk(only_small, only_big)
    rows = [
        row(
            f"retrieval_p50_ms@{size // 1000}k",
            rounded(p50[size], 1),
            f"<= {TARGET_P50_MS:.0f} ms" if size == TARGET_AT else "",
            p50[size] <= TARGET_P50_MS if size == TARGET_AT else None,
            f"p95 {p95[size]:.1f} ms, best {min(times[size]):.1f} ms, dense only p50 "
            f"{percentile(dense_times[size], 50):.1f} ms, {built[size]['chunks']} chunks",
        )
        for size in sizes
    ]
    rows += [
        row(
            f"first_query_vs_p50@{size // 1000}k",
            rounded(first_ms[size] / p50[size], 1),
            f"<= {FIRST_QUERY_BOUND:.0f}x" if size == TARGET_AT else "",
            first_ms[size] / p50[size] <= FIRST_QUERY_BOUND if size == TARGET_AT else None,
            f"first query of a new process {first_ms[size]:.0f} ms with the saved BM25 index; "
            f"{first_built_ms[size]:.0f} ms building it from the store "
            f"({first_built_ms[size] / p50[size]:.1f}x p50); Chroma alone, cold, "
            f"{chroma_first_ms[size]:.0f} ms",
        )
        for size in sizes
    ]
    rows += [
        row(
            f"first_query_beyond_chroma_vs_p50@{size // 1000}k",
            rounded(max(0.0, first_ms[size] - chroma_first_ms[size]) / p50[size], 1),
            f"<= {FIRST_QUERY_BOUND:.0f}x" if size == TARGET_AT else "",
            (first_ms[size] - chroma_first_ms[size]) / p50[size] <= FIRST_QUERY_BOUND
            if size == TARGET_AT
            else None,
            f"first query {first_ms[size]:.0f} ms less Chroma's own cold open and query of the "
            f"same-size store {chroma_first_ms[size]:.0f} ms; serve's first question after its "
            f"start-up warm-up {warm_first_ms[size]:.0f} ms "
            f"({warm_first_ms[size] / p50[size]:.1f}x)",
        )
        for size in sizes
    ]
    rows.append(
        row(
            "retrieval_growth",
            rounded(growth, 2),
            f"< {size_ratio:.0f} (sub-linear)",
            growth < size_ratio,
            f"p50 at {chunks_big} / at {chunks_small} chunks; question embedding alone "
            f"p50 {percentile(embed_times, 50):.1f} ms",
        )
    )
    rows.append(
        row(
            "ingest_peak_rss_growth_kb_per_chunk",
            rounded(kb_per_chunk, 2),
            "bounded (no corpus in memory)",
            None,
            f"child peak RSS {rss_small:.0f} MB at {chunks_small} chunks, {rss_big:.0f} MB at "
            f"{chunks_big}; a 384-float vector is 1.5 kB in Chroma's in-memory HNSW index",
        )
    )
    rows.append(
        row(
            "ingest_rss_growth_beyond_chroma_kb_per_chunk",
            rounded(kb_per_chunk - chroma_kb, 2),
            f"<= {RSS_BEYOND_CHROMA_KB:.0f} kB",
            kb_per_chunk - chroma_kb <= RSS_BEYOND_CHROMA_KB,
            f"ingest {kb_per_chunk:.2f} kB per chunk; the same records upserted straight into "
            f"Chroma {chroma_kb:.2f} kB ({only_small['peak_rss_mb']:.0f} MB at "
            f"{only_small['chunks']}, {only_big['peak_rss_mb']:.0f} MB at {only_big['chunks']})",
        )
    )
    return {
        "retrieval_p50_ms": {str(s): rounded(p50[s], 1) for s in sizes},
        "retrieval_p95_ms": {str(s): rounded(p95[s], 1) for s in sizes},
        "retrieval": {
            "queries_per_size": len(times[small]),
            "dense_only_p50_ms": {
                str(s): rounded(percentile(dense_times[s], 50), 1) for s in sizes
            },
            "best_ms": {str(s): rounded(min(times[s]), 1) for s in sizes},
            "first_query_ms": {str(s): rounded(first_ms[s], 0) for s in sizes},
            "first_query_built_ms": {str(s): rounded(first_built_ms[s], 0) for s in sizes},
            "chroma_alone_first_query_ms": {str(s): rounded(chroma_first_ms[s], 0) for s in sizes},
            "first_question_after_warm_up_ms": {
                str(s): rounded(warm_first_ms[s], 0) for s in sizes
            },
            "question_embedding_p50_ms": rounded(percentile(embed_times, 50), 1),
            "growth_p50_largest_vs_smallest": rounded(growth, 2),
            "stores": {str(s): built[s] for s in sizes},
        },
        "memory": {
            "ingest_peak_rss_mb": {str(built[s]["chunks"]): built[s]["peak_rss_mb"] for s in sizes},
            "ingest_rss_growth_kb_per_chunk": rounded(kb_per_chunk, 2),
            "chroma_only_rss_growth_kb_per_chunk": rounded(chroma_kb, 2),
        },
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """The child process: build one store and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_retrieval")
    parser.add_argument("--build", type=Path, required=True, help="store folder to create")
    parser.add_argument("--chunks", type=int, required=True, help="about this many chunks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chroma-only", action="store_true", help="the baseline: Chroma alone")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    build = build_chroma_only if args.chroma_only else build_store
    result = build(args.build, args.chunks, args.seed)
    result["child_s"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
