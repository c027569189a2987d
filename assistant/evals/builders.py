"""Suites built at run time from public data (`corpus_builder:` in a YAML suite).

Each builder reads its `source` file and returns `(cases, corpus records, dropped)`: the cases,
the articles of the corpus as JSONL records (`doc_id`, `text`) and how many questions it left
out. The RGB builders pool the snippets of every question into one corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import SuiteError
from assistant.evals.cases import Case, _check_unique, _json_lines, _show
from assistant.evals.metrics import normalize_answer


@dataclass
class _SnippetPool:
    """A pooled RGB corpus: each distinct snippet text stored once, under its first id."""

    records: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def add(self, snippets: Any, prefix: str) -> list[str]:
        """Add `prefix0`, `prefix1`... unless stored already; the ids of the non-empty ones."""
        out: list[str] = []
        for j, snippet in enumerate(snippets if isinstance(snippets, list) else []):
            text = str(snippet).strip()
            if not text:
                continue
            if text not in self.ids:  # identical snippets recur across queries
                self.ids[text] = f"{prefix}{j}"
                # no title: the loader takes one from the text
                self.records.append({"doc_id": self.ids[text], "text": text})
            out.append(self.ids[text])
        return list(dict.fromkeys(out))


def _rgb_records(source: Path, *needs: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(question id, record) for each RGB line; each needs `query` and the `needs` lists."""
    shown = _show(source)
    seen_ids: dict[str, int] = {}
    count = 0
    for number, where, raw in _json_lines(source.read_text(encoding="utf-8"), shown):
        if not isinstance(raw, dict) or any(key not in raw for key in ("query", *needs)):
            wanted = ", ".join(f"'{key}'" for key in ("query", *needs))
            raise SuiteError(f"{where}: an RGB record needs {wanted}")
        qid = str(raw.get("id", number))
        _check_unique(f"rgb-{qid}", number, seen_ids, where)
        count += 1
        yield qid, raw
    if not count:
        raise SuiteError(f"{shown}: no RGB records")


def _rgb_meta(qid: str) -> dict[str, Any]:
    return {"source": "RGB en_fact", "rgb_id": qid}


def _build_rgb_negative(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB negative rejection: every `negative` snippet is an article, every query unanswerable.

    All questions share one pooled corpus, so a snippet gathered for one question can hold the
    answer to another (and RGB has a few noisy negatives). A question whose gold answer text
    occurs in any snippet is dropped: it would not be unanswerable here.

    Returns:
        The cases, the corpus records (`doc_id`, `text`), and how many questions were dropped.
    """
    pool = _SnippetPool()
    candidates: list[tuple[Case, list[str]]] = []
    for qid, raw in _rgb_records(source, "negative"):
        case = Case(
            id=f"rgb-{qid}",
            question=str(raw["query"]),
            answerable=False,
            tags=["negative-rejection"],
            meta=_rgb_meta(qid),
        )
        candidates.append((case, _flatten_strings(raw.get("answer"))))
        pool.add(raw["negative"], f"rgb-{qid}-neg")
    texts = [f" {normalize_answer(r['text'])} " for r in pool.records]
    cases = []
    for case, answers in candidates:
        golds = [g for g in (normalize_answer(a) for a in answers) if g]
        if not any(f" {g} " in text for g in golds for text in texts):
            cases.append(case)
    return cases, pool.records, len(candidates) - len(cases)


def _build_rgb_noise(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB noise robustness: `positive` and `negative` snippets pooled; every case answerable."""
    return _build_rgb_answerable(source, "negative", tag="noise-robustness")


def _build_rgb_counterfactual(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB counterfactual: `positive` beside `positive_wrong` snippets (the answer swapped for
    `fakeanswer`); the fake answer is the case's `conflicting` value.
    """
    return _build_rgb_answerable(source, "positive_wrong", tag="counterfactual", conflict=True)


def _build_rgb_answerable(
    source: Path, beside: str, *, tag: str, conflict: bool = False
) -> tuple[list[Case], list[dict[str, Any]], int]:
    """Every record's `positive` snippets pooled with its `beside` ones; answerable cases.

    A case's gold articles are its own positive snippets (under the id a shared snippet was
    first stored with); with `conflict`, its `fakeanswer` becomes `conflicting`.
    """
    pool = _SnippetPool()
    short = {"negative": "neg", "positive_wrong": "wrong"}.get(beside, beside)
    cases = []
    for qid, raw in _rgb_records(source, "positive", beside):
        positives = pool.add(raw["positive"], f"rgb-{qid}-pos")
        pool.add(raw[beside], f"rgb-{qid}-{short}")
        cases.append(
            Case(
                id=f"rgb-{qid}",
                question=str(raw["query"]),
                answers=_flatten_strings(raw.get("answer")),
                article_ids=positives,
                conflicting=_flatten_strings(raw.get("fakeanswer")) if conflict else [],
                tags=[tag],
                meta=_rgb_meta(qid),
            )
        )
    return cases, pool.records, 0


_BUILDERS: dict[str, Callable[[Path], tuple[list[Case], list[dict[str, Any]], int]]] = {
    "rgb-negative": _build_rgb_negative,
    "rgb-noise": _build_rgb_noise,
    "rgb-counterfactual": _build_rgb_counterfactual,
}
"""Suites whose cases and corpus are built at run time from `source` (`corpus_builder:`)."""


def _flatten_strings(value: Any) -> list[str]:
    """RGB answers are a string, a list of aliases, or a list of lists (one per part)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _flatten_strings(item)]
    return []
