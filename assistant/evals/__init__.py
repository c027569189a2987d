"""Eval suites: load cases from `evals/`, run them through an `Assistant`, score, and report.

A suite is data: a `.jsonl` file (one case a line) or a `.yaml` file with a header (name,
corpus, defaults) and its cases inline or in a JSONL file. The runner ingests the suite's corpus
into a store of its own under `~/.cache/assistant/evalstores/` (keyed by the corpus content and
the settings that shape a store), so repeated runs reuse it and the user's store is never
touched. Each case is asked once; the answer is scored for correctness, citations, retrieval,
abstention and latency, and the scores are averaged overall and per tag.

One concern per module, each importing only the ones before it:

- `metrics`: metric names and the pure functions that score one answer;
- `cases`: the `Case` and `Suite` models and reading case records;
- `builders`: suites built at run time from public data (RGB);
- `suite`: `load_suite` (JSONL and YAML suite files) and picking the cases to run;
- `results`: `CaseResult`, `EvalReport` and the figures aggregated over cases;
- `runner`: `run_suite` and the cached eval stores;
- `formatting`, `report`: the terminal summary and the JSON, Markdown and HTML reports;
- `compare`: `--fail-under` gates and `--compare` of two reports;
- `ablation`: one suite per variant of the settings, and the `evals/RESULTS.md` table.

Metric definitions (see `evals/README.md` for the long form):

- `answer_exact`, `answer_f1`, `answer_contains_gold`, `answer_semantic_match` (containment
  after `semantic_normalize`: numbers, dates, currencies spelled one way), `answer_similarity`:
  against the best gold alias, over answerable cases; an abstention on an answerable case
  scores 0.
- `conflict_surfaced_rate`: over cases that list `conflicting` values (wrong values some source
  asserts), the share of answers that name both a gold alias and a conflicting value.
- `citation_precision` / `citation_recall` (ALCE): over answers that did not abstain.
- `retrieval_recall_at_k`, `mrr`: over cases that name gold articles;
  `retrieval_recall_at_10/20` (a gold article among the first 10/20 passages) only in a
  retrieval-only run, which calls `retrieve` instead of `ask` and scores nothing else.
- `abstention_rate` (unanswerable cases), `false_abstention_rate` (answerable cases),
  `abstention_precision` (share of abstentions that were on unanswerable cases).
- `latency_ms_p50/p95`, `retrieve_ms_p50/p95`, `generate_ms_p50/p95`; `prompt_tokens_p50`,
  `prompt_tokens_mean` and `completion_tokens_mean` over the cases whose answer reports
  `prompt_tokens` / `completion_tokens` in `Answer.timings` (None when none does).

A metric with no case to average over is `None` (JSON `null`), never a made-up 0.
"""

from __future__ import annotations

from assistant.evals.ablation import (
    ABLATION_METRICS,
    ABLATIONS,
    SUITE_TARGETS,
    TARGETS,
    render_ablation,
    render_ablations,
    run_ablation,
    run_ablations,
    targets_for,
)
from assistant.evals.cases import Case, Suite
from assistant.evals.compare import check_fail_under, compare_reports
from assistant.evals.metrics import (
    ABSTENTION_METRICS,
    ANSWER_METRICS,
    CITATION_METRICS,
    CONFLICT_METRICS,
    LATENCY_METRICS,
    LOWER_IS_BETTER,
    METRICS,
    RETRIEVAL_DEPTHS,
    RETRIEVAL_METRICS,
    TOKEN_METRICS,
    CitationChecker,
    CitationScores,
    answer_similarity,
    best_alias_score,
    conflict_surfaced,
    contains_gold,
    exact_match,
    normalize_answer,
    percentile,
    retrieval_scores,
    score_citations,
    semantic_match,
    semantic_normalize,
    strip_markers,
    token_f1,
)
from assistant.evals.report import render_summary, worst_cases, write_reports
from assistant.evals.results import (
    TRADEOFF_STEP,
    CaseResult,
    EvalReport,
    abstention_tradeoff,
    aggregate,
    calibrated_gate,
)
from assistant.evals.runner import AssistantLike, default_cache_dir, run_suite
from assistant.evals.suite import load_suite, sample_cases

__all__ = [
    "ABLATIONS",
    "ABLATION_METRICS",
    "ABSTENTION_METRICS",
    "ANSWER_METRICS",
    "CITATION_METRICS",
    "CONFLICT_METRICS",
    "LATENCY_METRICS",
    "LOWER_IS_BETTER",
    "METRICS",
    "RETRIEVAL_DEPTHS",
    "RETRIEVAL_METRICS",
    "SUITE_TARGETS",
    "TARGETS",
    "TOKEN_METRICS",
    "TRADEOFF_STEP",
    "AssistantLike",
    "Case",
    "CaseResult",
    "CitationChecker",
    "CitationScores",
    "EvalReport",
    "Suite",
    "abstention_tradeoff",
    "aggregate",
    "answer_similarity",
    "best_alias_score",
    "calibrated_gate",
    "check_fail_under",
    "compare_reports",
    "conflict_surfaced",
    "contains_gold",
    "default_cache_dir",
    "exact_match",
    "load_suite",
    "normalize_answer",
    "percentile",
    "render_ablation",
    "render_ablations",
    "render_summary",
    "retrieval_scores",
    "run_ablation",
    "run_ablations",
    "run_suite",
    "sample_cases",
    "score_citations",
    "semantic_match",
    "semantic_normalize",
    "strip_markers",
    "targets_for",
    "token_f1",
    "worst_cases",
    "write_reports",
]
