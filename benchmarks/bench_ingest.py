"""Figure 1: `Assistant.ingest` throughput against the embedding model's own bound.

The bound is the bare `SentenceTransformer.encode` of exactly the chunk texts ingest produces,
with the best of a few batch sizes: no loading, chunking, store look-ups or writes. The corpus is
split into slices and each slice is encoded bare and ingested back to back, in alternating order,
so that a change in the machine's load hits both sides alike. Re-ingesting the unchanged corpus
must cost almost nothing (no embedding at all).

The corpus is real articles: seeds/ plus the gold and distractor articles of the first RealTime
QA dev questions, read from the shared eval data at run time (never copied into the repository).
Without that data it falls back to synthetic articles recombined from seeds/ paragraphs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import SEEDS, Bench, read_jsonl, rounded, row, stopwatch

SLICES = 4
BATCH_SIZES = (16, 32, 64, 128)
QUICK_QUESTIONS = 3  # their gold + distractor articles: ~25 articles, ~500 chunks
TARGET_RATIO = 0.90
TARGET_REINGEST = 0.02


@dataclass
class Corpus:
    """The articles the ingest and ONNX figures embed, as slice files plus seeds/.

    Attributes:
        slices: Lists of paths, one `Assistant.ingest` call each; seeds/ is in the first.
        cases: The RealTime QA dev cases whose gold articles are in the corpus (may be empty).
        description: Where the articles come from, for the report.
    """

    slices: list[list[Path]]
    cases: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""

    @property
    def paths(self) -> list[Path]:
        return [p for group in self.slices for p in group]


def prepare_corpus(bench: Bench) -> Corpus:
    """The shared corpus of this run (built once, kept in `bench.shared`)."""
    if "corpus" in bench.shared:
        corpus: Corpus = bench.shared["corpus"]
        return corpus
    folder = bench.work / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    if bench.has_rtqa():
        cases = read_jsonl(bench.rtqa / "dev.jsonl")
        if bench.quick:
            cases = cases[:QUICK_QUESTIONS]
        wanted: set[str] = set()
        for case in cases:
            wanted.update(case.get("article_ids", []))
            wanted.update(case.get("meta", {}).get("distractor_ids", []))
        records = [
            r for r in read_jsonl(bench.rtqa / "corpus.jsonl") if str(r.get("doc_id")) in wanted
        ]
        description = (
            f"seeds/ + {len(records)} RealTime QA articles (gold and distractors of "
            f"{len(cases)} dev questions)"
        )
    else:
        from benchmarks.synth import collect_paragraphs, synth_articles

        cases = []
        records = list(synth_articles(60 if bench.quick else 400, collect_paragraphs(SEEDS)))
        description = (
            f"seeds/ + {len(records)} synthetic articles from seeds/ paragraphs "
            f"(no RealTime QA data in {bench.evaldata})"
        )
    slices: list[list[Path]] = []
    for i in range(SLICES):
        path = folder / f"slice{i}.jsonl"
        part = records[i::SLICES]
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8"
        )
        slices.append(([SEEDS] if i == 0 else []) + [path])
    corpus = Corpus(slices=slices, cases=cases, description=description)
    bench.shared["corpus"] = corpus
    return corpus


def chunk_texts(paths: list[Path], chunk_size: int, chunk_overlap: int) -> list[str]:
    """The chunk texts `Assistant.ingest` would embed for `paths`."""
    from assistant.chunking import chunk_article
    from assistant.loaders import load_paths
    from assistant.types import Article

    texts: list[str] = []
    for item in load_paths(paths):
        if isinstance(item, Article):
            texts += [c.text for c in chunk_article(item, size=chunk_size, overlap=chunk_overlap)]
    return texts


def _best_batch_size(model: Any, sample: list[str], rounds: int) -> tuple[int, dict[str, float]]:
    """The fastest batch size on `sample` (best of `rounds` interleaved rounds each)."""
    best: dict[int, float] = {}
    for _ in range(rounds):
        for size in BATCH_SIZES:
            with stopwatch() as elapsed:
                model.encode(sample, batch_size=size, normalize_embeddings=True)
            best[size] = min(best.get(size, float("inf")), elapsed())
    chosen = min(best, key=lambda s: best[s])
    return chosen, {str(s): round(len(sample) / t, 1) for s, t in best.items()}


def run(bench: Bench) -> dict[str, Any]:
    """Measure ingest against the bound, then re-ingest; see the module docstring."""
    from sentence_transformers import SentenceTransformer

    from assistant.chain import Assistant
    from assistant.embeddings import resolve_model_path

    corpus = prepare_corpus(bench)
    settings = bench.settings("ingest")
    assistant = Assistant(settings, embedder=bench.embedder)
    texts = [chunk_texts(s, settings.chunk_size, settings.chunk_overlap) for s in corpus.slices]
    total = sum(len(t) for t in texts)
    bench.log(f"ingest: {corpus.description}: {total} chunks in {SLICES} slices")

    bare = SentenceTransformer(str(resolve_model_path(settings.embedding_model)), device="cpu")
    everything = [t for part in texts for t in part]
    bare.encode(everything[:16])
    sample = everything[:: max(1, len(everything) // (64 if bench.quick else 256))]
    batch, trial = _best_batch_size(bare, sample, 1 if bench.quick else 2)
    bench.log(f"ingest: best bare batch size {batch} ({trial} chunks/s)")

    bound_s = ingest_s = 0.0
    embedded = 0
    for i, (paths, part) in enumerate(zip(corpus.slices, texts, strict=True)):
        steps = ["bound", "ingest"] if i % 2 == 0 else ["ingest", "bound"]
        for step in steps:
            with stopwatch() as elapsed:
                if step == "bound":
                    bare.encode(part, batch_size=batch, normalize_embeddings=True)
                else:
                    report = assistant.ingest(paths)
            if step == "bound":
                bound_s += elapsed()
            else:
                ingest_s += elapsed()
                embedded += report.chunks
                if report.errors:
                    raise RuntimeError(f"ingest failed: {report.errors[0]}")
        bench.log(f"ingest: slice {i + 1}/{SLICES}: bound {bound_s:.1f} s, ingest {ingest_s:.1f} s")
    if embedded != total:
        raise RuntimeError(f"ingest embedded {embedded} chunks, the bound {total}")

    with stopwatch() as elapsed:
        again = assistant.ingest(corpus.paths)
    reingest_s = elapsed()
    if again.chunks:
        raise RuntimeError(f"re-ingest of an unchanged corpus embedded {again.chunks} chunks")
    bench.shared["torch_store"] = settings  # the ONNX figure compares recall against it
    bench.shared["torch_ingest_chunks_per_s"] = total / ingest_s

    ratio = bound_s / ingest_s  # = (chunks/ingest_s) / (chunks/bound_s)
    reingest = reingest_s / ingest_s
    details = {
        "corpus": corpus.description,
        "chunks": total,
        "ingest_s": rounded(ingest_s, 2),
        "ingest_chunks_per_s": rounded(total / ingest_s, 1),
        "bound_s": rounded(bound_s, 2),
        "bound_chunks_per_s": rounded(total / bound_s, 1),
        "bound_batch_size": batch,
        "batch_size_trial_chunks_per_s": trial,
        "ingest_batch_size": settings.embedding_batch_size,
        "reingest_s": rounded(reingest_s, 3),
        "reingest_articles_unchanged": len(again.unchanged),
    }
    return {
        "ingest_vs_bound": rounded(ratio),
        "reingest_vs_first": rounded(reingest, 4),
        "ingest": details,
        "rows": [
            row(
                "ingest_vs_bound",
                rounded(ratio),
                f">= {TARGET_RATIO:.2f}",
                ratio >= TARGET_RATIO,
                f"{total} chunks: ingest {total / ingest_s:.1f}/s, bare encode "
                f"{total / bound_s:.1f}/s (batch {batch})",
            ),
            row(
                "reingest_vs_first",
                rounded(reingest, 4),
                f"<= {TARGET_REINGEST:.2f}",
                reingest <= TARGET_REINGEST,
                f"{reingest_s:.2f} s vs {ingest_s:.1f} s, {len(again.unchanged)} articles",
            ),
        ],
    }
