"""Synthetic news corpus: N articles made by recombining paragraphs of real article text.

    python -m benchmarks.synth --articles 5000 --out /tmp/synth.jsonl

Paragraphs come from the repository's `seeds/` and, when it exists, the RealTime QA corpus in
the shared eval data (read at run time, never copied into the repository). The same seed, N and
paragraph sources give byte-identical output. Every article has a unique id and title, a source
and a publication date, in the JSONL shape `assistant ingest` reads.

The text is real prose, so embedding and BM25 costs are realistic, but the articles are not
real news: use the corpus for speed and memory figures, never for answer quality.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MIN_PARAGRAPH_CHARS = 80
SOURCES = ("Synthetic Wire", "Example Herald", "Sample Times", "Test Gazette", "Demo Post")
_EPOCH = date(2020, 1, 1)


def default_corpus() -> Path:
    """The RealTime QA corpus in the shared eval data (ASSISTANT_EVALDATA_DIR)."""
    from assistant.config import Settings

    return Settings().evaldata_dir / "realtimeqa" / "corpus.jsonl"


def _split_paragraphs(text: str) -> list[str]:
    # News text keeps a paragraph on one line (seeds/) or between blank lines (RealTime QA);
    # splitting at every newline serves both, and short lines (bylines, captions) drop out.
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    return [p for p in paragraphs if len(p) >= MIN_PARAGRAPH_CHARS]


def collect_paragraphs(seeds_dir: Path | None = SEEDS, corpus: Path | None = None) -> list[str]:
    """Unique paragraphs of real article text, in a stable order.

    Args:
        seeds_dir: Folder of .txt articles (the repository's seeds/), or None.
        corpus: A JSONL file with a `text` field per line (RealTime QA), or None. Missing
            files are skipped, so the generator works without the shared eval data.

    Returns:
        Paragraphs of at least MIN_PARAGRAPH_CHARS characters, duplicates removed.

    Raises:
        SystemExit: no paragraph was found at all.
    """
    found: list[str] = []
    if seeds_dir is not None and seeds_dir.is_dir():
        for path in sorted(seeds_dir.glob("*.txt")):
            found += _split_paragraphs(path.read_text(encoding="utf-8"))
    if corpus is not None and corpus.is_file():
        with corpus.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    text = json.loads(line).get("text")
                    if isinstance(text, str):
                        found += _split_paragraphs(text)
    paragraphs = list(dict.fromkeys(found))
    if not paragraphs:
        raise SystemExit(f"no paragraphs of real text found in {seeds_dir} or {corpus}")
    return paragraphs


def synth_articles(
    n: int,
    paragraphs: list[str],
    *,
    seed: int = 0,
    min_paragraphs: int = 3,
    max_paragraphs: int = 9,
) -> Iterator[dict[str, str]]:
    """Yield `n` synthetic article records (JSON-ready dicts), one at a time.

    Args:
        n: How many articles.
        paragraphs: Real paragraphs to recombine (see `collect_paragraphs`).
        seed: Same seed, same articles.
        min_paragraphs: Fewest paragraphs in one article.
        max_paragraphs: Most paragraphs in one article.

    Yields:
        Dicts with id, title, source, published (ISO date) and text.
    """
    rng = random.Random(seed)
    for i in range(n):
        k = rng.randint(min_paragraphs, max_paragraphs)
        body = [paragraphs[rng.randrange(len(paragraphs))] for _ in range(k)]
        # The number makes titles unique; the words make them look like headlines.
        words = body[0].split()[:8]
        title = f"{' '.join(words).rstrip('.,;:')} (synthetic #{i})"
        yield {
            "id": f"synth-{seed}-{i:07d}",
            "title": title,
            "source": SOURCES[rng.randrange(len(SOURCES))],
            "published": (_EPOCH + timedelta(days=rng.randrange(5 * 365))).isoformat(),
            "text": "\n\n".join(body),
        }


def write_jsonl(records: Iterable[dict[str, str]], out: Path) -> int:
    """Write records one JSON object a line; returns how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: build a synthetic JSONL corpus."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synth", description=__doc__)
    parser.add_argument("--articles", type=int, required=True, help="how many articles")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--seeds-dir", type=Path, default=SEEDS, help="folder of .txt articles")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="JSONL of real articles (default: realtimeqa/corpus.jsonl in ASSISTANT_EVALDATA_DIR)",
    )
    parser.add_argument("--no-corpus", action="store_true", help="use only --seeds-dir")
    args = parser.parse_args(argv)
    corpus = None if args.no_corpus else (args.corpus or default_corpus())
    paragraphs = collect_paragraphs(args.seeds_dir, corpus)
    count = write_jsonl(synth_articles(args.articles, paragraphs, seed=args.seed), args.out)
    print(f"{count} articles from {len(paragraphs)} paragraphs -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
