"""What a run produced: per-case results, the report, and the figures aggregated over cases."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from assistant.evals.metrics import (
    _CONFLICT_SCORE,
    _PER_CASE_METRICS,
    LATENCY_METRICS,
    METRICS,
    RETRIEVAL_METRICS,
    percentile,
)


class CaseResult(BaseModel):
    """What happened to one case: the answer, its citations and its scores."""

    id: str
    question: str
    question_date: date | None = None
    tags: list[str] = Field(default_factory=list)
    answerable: bool = True
    gold: list[str] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)
    answer: str = ""
    abstained: bool = False
    abstain_reason: str | None = Field(None, description="Why it abstained (Answer's field).")
    correct: bool = Field(
        default=False, description="Answerable: contains a gold alias. Unanswerable: abstained."
    )
    citations: list[dict[str, Any]] = Field(default_factory=list)
    retrieved: list[str] = Field(
        default_factory=list, description="Article id of each retrieved passage, ranked."
    )
    scores: dict[str, float | None] = Field(default_factory=dict)
    relevance: float | None = Field(
        None, description="Best cosine similarity of a retrieved passage to the question."
    )
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None


class EvalReport(BaseModel):
    """A suite run: aggregate metrics overall and per tag, and every case."""

    suite: str
    path: str = ""
    description: str = ""
    corpus: str | None = None
    settings_hash: str = ""
    model: str = ""
    k: int = 0
    started: datetime
    seconds: float
    metrics: dict[str, float | None]
    counts: dict[str, int] = Field(
        default_factory=dict, description="How many cases each metric averages over."
    )
    by_tag: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    cases: list[CaseResult]
    fail_under: list[str] = Field(default_factory=list)
    ingest: dict[str, Any] = Field(default_factory=dict)
    errors: int = 0
    min_relevance: float | None = Field(None, description="The relevance gate of the run.")
    abstention_tradeoff: list[dict[str, float]] = Field(
        default_factory=list,
        description="What each higher relevance gate would give (see `abstention_tradeoff`).",
    )
    retrieval_only: bool = Field(
        False, description="Only retrieval was run and scored (`run_suite(retrieval_only=)`)."
    )


TRADEOFF_STEP = 0.05


def abstention_tradeoff(
    results: Sequence[CaseResult], gate: float, step: float = TRADEOFF_STEP
) -> list[dict[str, float]]:
    """Abstention precision/recall at relevance gates from the run's own gate upward.

    A case abstains at gate `t` when it abstained in the run or its best passage's relevance
    is below `t` (then no model call would have been made). This is exact for every `t` at or
    above the run's gate, so a run without a gate (`min_relevance` -1) gives the whole curve
    from one pass over the suite. Each row: `threshold`, `abstention_rate` (recall of
    abstention on unanswerable cases), `false_abstention_rate` (answerable cases lost),
    `abstention_precision` and `answer_contains_gold` (answerable cases still answered right).
    """
    scored = [r for r in results if not r.error]
    if not scored or not any(not r.answerable for r in scored):
        return []
    top = max((r.relevance or 0.0) for r in scored)
    start = max(0.0, math.ceil(gate / step - 1e-9) * step) if gate > 0 else 0.0
    rows: list[dict[str, float]] = []
    t = start
    while t <= top + step:
        flags = [(r, r.abstained or r.relevance is None or r.relevance < t - 1e-9) for r in scored]
        unans = [a for r, a in flags if not r.answerable]
        ans = [a for r, a in flags if r.answerable]
        absts = [not r.answerable for r, a in flags if a]
        right = [
            (not a) and r.scores.get("answer_contains_gold") == 1.0
            for r, a in flags
            if r.answerable
        ]
        rows.append(
            {
                "threshold": round(t, 4),
                "abstention_rate": sum(unans) / len(unans),
                "false_abstention_rate": sum(ans) / len(ans) if ans else 0.0,
                "abstention_precision": sum(absts) / len(absts) if absts else 1.0,
                "answer_contains_gold": sum(right) / len(right) if right else 0.0,
            }
        )
        t = round(t + step, 10)
    return rows


def calibrated_gate(rows: Sequence[Mapping[str, float]]) -> float | None:
    """The gate of `abstention_tradeoff` rows that best separates the two kinds of case.

    Maximises abstention on unanswerable cases minus abstention on answerable ones (Youden's
    J); among equals, the lowest gate (it costs the fewest answers).
    """
    if not rows:
        return None
    best = max(
        rows, key=lambda r: (r["abstention_rate"] - r["false_abstention_rate"], -r["threshold"])
    )
    return float(best["threshold"])


def _aggregate_retrieval(
    results: Sequence[CaseResult],
) -> tuple[dict[str, float | None], dict[str, int]]:
    """`aggregate` with only the metrics a retrieval-only run measures; the others are None."""
    metrics, counts = aggregate(results)
    kept = {*RETRIEVAL_METRICS, *LATENCY_METRICS}
    for name in METRICS:
        if name not in kept:
            metrics[name], counts[name] = None, 0
    return metrics, counts


def aggregate(results: Sequence[CaseResult]) -> tuple[dict[str, float | None], dict[str, int]]:
    """Average per-case scores into suite metrics.

    Returns:
        `(metrics, counts)`: every name in `METRICS` mapped to its value (None when no case
        qualifies) and to the number of cases it was computed over.
    """
    metrics: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for name in _PER_CASE_METRICS:
        values = [v for r in results if (v := r.scores.get(name)) is not None]
        metrics[name] = sum(values) / len(values) if values else None
        counts[name] = len(values)
    surfaced = [v for r in results if (v := r.scores.get(_CONFLICT_SCORE)) is not None]
    metrics["conflict_surfaced_rate"] = sum(surfaced) / len(surfaced) if surfaced else None
    counts["conflict_surfaced_rate"] = len(surfaced)

    unanswerable = [r.abstained for r in results if not r.answerable]
    answerable = [r.abstained for r in results if r.answerable]
    abstentions = [not r.answerable for r in results if r.abstained]
    for name, flags in (
        ("abstention_rate", unanswerable),
        ("false_abstention_rate", answerable),
        ("abstention_precision", abstentions),
    ):
        metrics[name] = sum(flags) / len(flags) if flags else None
        counts[name] = len(flags)

    for prefix, key in (
        ("latency_ms", "total_ms"),
        ("retrieve_ms", "retrieve_ms"),
        ("generate_ms", "generate_ms"),
    ):
        values = [r.timings[key] for r in results if key in r.timings]
        for q in (50, 95):
            metrics[f"{prefix}_p{q}"] = percentile(values, q)
            counts[f"{prefix}_p{q}"] = len(values)
    for name, key in (
        ("prompt_tokens_mean", "prompt_tokens"),
        ("completion_tokens_mean", "completion_tokens"),
    ):
        values = [r.timings[key] for r in results if key in r.timings]
        metrics[name] = sum(values) / len(values) if values else None
        counts[name] = len(values)
        if key == "prompt_tokens":
            metrics["prompt_tokens_p50"] = percentile(values, 50)
            counts["prompt_tokens_p50"] = len(values)
    ordered = {name: metrics[name] for name in METRICS}
    return ordered, {name: counts[name] for name in METRICS}
