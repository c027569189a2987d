"""Ablations: one suite run once per variant of the settings, and the Markdown table of them.

Variants at temperature 0 share a replay cache of answers (see `run_ablation`), so a variant that
builds the prompt an earlier one sent does not spend the model's time on it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.evals.formatting import _fmt, _md_cell
from assistant.evals.metrics import _OPTIONAL_METRICS
from assistant.evals.report import _md_tradeoff_table, write_reports
from assistant.evals.results import EvalReport, calibrated_gate
from assistant.evals.runner import run_suite
from assistant.evals.suite import _select_cases, load_suite, sample_cases

#: Each step of the pipeline switched off in turn, plus the smaller local model.
ABLATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "no evidence selection": {"evidence": False},
    "no answer check": {"answer_check": False},
    "answer check on retrieved passages": {"answer_check_scope": "passages"},
    "answer check on shown sentences": {"answer_check_scope": "evidence"},
    "no headline support": {"headline_support": False},
    "answer check on kind only": {"answer_check_share": 0.0},
    "no conflict notice": {"conflicts": False},
    "no relevance gate": {"min_relevance": -1.0},
    "with reranking": {"rerank": True},
    "dense only (no BM25)": {"hybrid": False},
    "no citation verification": {"verify": False},
    "plain verification (not question-aware)": {"question_aware": False},
    "no date awareness": {"date_aware": False},
    "no passage packing": {"pack_passages": False},
    "no near-duplicate grouping": {"dedupe": False},
    "fast model (0.5B)": {"llm_model": "fast"},
}

# The targets for the default configuration: metric -> (bound, higher is better).
TARGETS: dict[str, tuple[float, bool]] = {
    "answer_contains_gold": (0.60, True),
    "citation_precision": (0.90, True),
    "false_abstention_rate": (0.15, False),
    "abstention_rate": (0.85, True),
    "retrieval_recall_at_k": (0.95, True),
    "latency_ms_p50": (6000.0, False),
}

#: Targets per suite name; a suite without an entry gets no targets table.
SUITE_TARGETS: dict[str, dict[str, tuple[float, bool]]] = {
    "realtimeqa-full": TARGETS,
    "realtimeqa": TARGETS,
    "rgb-noise": {"answer_contains_gold": (0.80, True)},
    "rgb-negative": {"abstention_rate": (0.80, True)},
    "rgb-counterfactual": {"conflict_surfaced_rate": (0.50, True)},
}

ABLATION_METRICS = (
    "answer_contains_gold",
    "answer_semantic_match",
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "retrieval_recall_at_k",
    "mrr",
    "abstention_rate",
    "false_abstention_rate",
    "latency_ms_p50",
    "prompt_tokens_p50",
    "prompt_tokens_mean",
)


def run_ablation(
    path: Path,
    *,
    assistant: Any,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    limit: int | None = None,
    progress: bool = False,
    report_dir: Path | None = None,
    sample: int | None = None,
) -> list[tuple[str, EvalReport]]:
    """Run one suite once per variant of the settings (see `ABLATIONS`).

    At temperature 0 the model's answer depends only on its prompt, so variants share a replay
    cache: when a variant builds exactly the prompt an earlier one sent to the same model, the
    earlier answer and its measured generation time are reused (`generate_replayed` in the
    case timings) instead of spending minutes of CPU on the same tokens again.

    With `report_dir`, each variant's report is written to `report_dir/<variant>/` and the
    replay cache to `report_dir/replay.json`; a rerun reuses a variant's report when its
    settings, suite and cases are unchanged, so an interrupted ablation resumes.
    """
    replay_file = report_dir / "replay.json" if report_dir else None
    replay = _load_replay(replay_file)
    rows = []
    for name, overrides in (variants or ABLATIONS).items():
        variant = assistant.derive(**overrides) if overrides else assistant.derive()
        if variant.settings.temperature == 0:
            variant.replay_cache = replay
        out = report_dir / _slug(name) if report_dir else None
        report = _reusable_report(out, variant, path, limit, sample)
        if report is None:
            report = run_suite(
                path, assistant=variant, limit=limit, progress=progress, sample=sample
            )
            if out is not None:
                write_reports(report, out)
            if replay_file is not None:
                replay_file.write_text(json.dumps(replay), encoding="utf-8")
        rows.append((name, report))
    return rows


def _load_replay(replay_file: Path | None) -> dict[str, tuple[Any, ...]]:
    """The replay cache an earlier run saved (empty when there is none or it is unreadable).

    Entries: (raw answer, generate ms[, prompt tokens, completion tokens]); see
    `Assistant.replay_cache`.
    """
    if not (replay_file and replay_file.is_file()):
        return {}
    try:
        return {
            k: (str(v[0]), *(float(x) for x in v[1:]))
            for k, v in json.loads(replay_file.read_text()).items()
        }
    except (ValueError, TypeError, IndexError, AttributeError):
        return {}


def run_ablations(
    paths: Sequence[Path | str], *, report_dir: Path | None = None, **options: Any
) -> list[tuple[str, list[tuple[str, EvalReport]]]]:
    """`run_ablation` over several suites, in order: `(suite name, rows)` per suite.

    With more than one suite, each suite's variant reports (and replay cache) go to
    `report_dir/<suite file stem>/`, so an interrupted multi-suite ablation resumes too; with
    one, to `report_dir` itself as `run_ablation` does. `options` are `run_ablation`'s.
    """
    sections = []
    for path in paths:
        out = report_dir / Path(path).stem if report_dir and len(paths) > 1 else report_dir
        rows = run_ablation(Path(path), report_dir=out, **options)
        sections.append((rows[0][1].suite if rows else Path(path).stem, rows))
    return sections


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "variant"


def _reusable_report(
    out: Path | None, variant: Any, path: Path, limit: int | None, sample: int | None = None
) -> EvalReport | None:
    if out is None or not (out / "report.json").is_file():
        return None
    try:
        report = EvalReport.model_validate_json((out / "report.json").read_text(encoding="utf-8"))
    except ValueError:
        return None
    suite = load_suite(Path(path), evaldata_dir=variant.settings.evaldata_dir)
    cases = sample_cases(_select_cases(suite, tags=None, limit=limit), sample)
    same = report.settings_hash == variant.settings.settings_hash() and [
        c.id for c in report.cases
    ] == [c.id for c in cases]
    return report if same else None


def render_ablation(rows: Sequence[tuple[str, EvalReport]], *, command: str = "") -> str:
    """The ablation table of one suite as Markdown (`assistant eval SUITE --ablate OUT.md`).

    Below the table: the default row against the suite's targets (`SUITE_TARGETS`), and, when
    a variant ran without the relevance gate, its abstention trade-off with the best-separating
    gate.
    """
    if not rows:
        return ""
    first = rows[0][1]
    lines = [
        "# Eval results: ablations",
        "",
        f"Generated by the runner{f' (`{command}`)' if command else ''} on "
        f"{first.started:%Y-%m-%d %H:%M} UTC; suite `{first.suite}`, {_case_counts(first)}, "
        f"default model {first.model}. Each row switches one step off (or one on, or swaps the "
        "model); do not edit by hand.",
        "",
        *_ablation_body(rows, "##"),
    ]
    return "\n".join(lines) + "\n"


def render_ablations(
    sections: Sequence[tuple[str, Sequence[tuple[str, EvalReport]]]], *, command: str = ""
) -> str:
    """Several suites' ablations in one Markdown file: one section per suite.

    Args:
        sections: `(suite name, rows of run_ablation)` per suite, in order.
        command: The command line that produced them, quoted in the header.
    """
    sections = [(name, rows) for name, rows in sections if rows]
    if not sections:
        return ""
    if len(sections) == 1:
        return render_ablation(sections[0][1], command=command)
    first = sections[0][1][0][1]
    lines = [
        "# Eval results: ablations",
        "",
        f"Generated by the runner{f' (`{command}`)' if command else ''} on "
        f"{first.started:%Y-%m-%d %H:%M} UTC over {len(sections)} suites "
        f"({', '.join(f'`{name}`' for name, _ in sections)}), default model {first.model}. "
        "Each row switches one step off (or one on, or swaps the model); do not edit by hand.",
    ]
    for name, rows in sections:
        report = rows[0][1]
        lines += ["", f"## Suite `{name}`", "", f"{_case_counts(report)}."]
        if report.description:
            lines[-1] += f" {_md_cell(report.description)}"
        lines += ["", *_ablation_body(rows, "###")]
    return "\n".join(lines) + "\n"


def _case_counts(report: EvalReport) -> str:
    unanswerable = sum(1 for c in report.cases if not c.answerable)
    return f"{len(report.cases)} cases ({unanswerable} unanswerable)"


def targets_for(suite: str) -> dict[str, tuple[float, bool]]:
    """The issue's targets for a suite's default configuration (empty when it has none)."""
    return dict(SUITE_TARGETS.get(suite, {}))


def _ablation_body(rows: Sequence[tuple[str, EvalReport]], level: str) -> list[str]:
    """One suite's table, replay note, targets and trade-off; sub-headings at `level`."""
    return [
        *_variant_table(rows),
        *_targets_table(rows[0], level),
        *_ungated_tradeoff(rows, level),
    ]


def _variant_table(rows: Sequence[tuple[str, EvalReport]]) -> list[str]:
    """One row per variant, then how many answers were replayed (when any was)."""
    metrics = [*ABLATION_METRICS]
    metrics += [m for m in _OPTIONAL_METRICS if any(r.metrics.get(m) is not None for _, r in rows)]
    lines = [
        "| variant | " + " | ".join(metrics) + " | minutes |",
        "| --- | " + " | ".join("---:" for _ in metrics) + " | ---: |",
    ]
    replayed = 0
    for name, report in rows:
        cells = [_fmt(m, report.metrics.get(m)) for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {report.seconds / 60:.1f} |")
        replayed += sum(1 for c in report.cases if c.timings.get("generate_replayed"))
    if replayed:
        lines += [
            "",
            f"{replayed} answers were replayed: their variant built exactly the prompt an "
            "earlier row sent to the same model at temperature 0, so the earlier answer and its "
            "measured generation time were reused (minutes are wall time, replays included).",
        ]
    return lines


def _targets_table(row: tuple[str, EvalReport], level: str) -> list[str]:
    """The first (default) row against its suite's targets; nothing for a suite without any."""
    name, first = row
    targets = targets_for(first.suite)
    if not targets:
        return []
    lines = [
        "",
        f"{level} `{name}` against the targets",
        "",
        "| metric | target | measured | met |",
        "| --- | ---: | ---: | --- |",
    ]
    for metric, (bound, higher) in targets.items():
        value = first.metrics.get(metric)
        met = value is not None and (value >= bound if higher else value <= bound)
        sign = "≥" if higher else "≤"
        lines.append(
            f"| {metric} | {sign} {_fmt(metric, bound)} | {_fmt(metric, value)} | "
            f"{'yes' if met else 'no'} |"
        )
    return lines


def _ungated_tradeoff(rows: Sequence[tuple[str, EvalReport]], level: str) -> list[str]:
    """The abstention trade-off of the first variant run without the relevance gate, if any."""
    ungated = next(
        (r for _, r in rows if r.min_relevance is not None and r.min_relevance < 0), None
    )
    if ungated is None or not ungated.abstention_tradeoff:
        return []
    gate = calibrated_gate(ungated.abstention_tradeoff)
    return [
        "",
        f"{level} Abstention trade-off (from the run without the relevance gate)",
        "",
        "A case abstains at gate t when the model's answer was abstained on or no passage "
        "reaches cosine similarity t. Best separation (abstention on unanswerable minus "
        f"abstention on answerable cases) at t = {gate}.",
        "",
        *_md_tradeoff_table(ungated.abstention_tradeoff),
    ]
