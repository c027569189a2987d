"""Reports against gates (`--fail-under metric=value`) and against each other (`--compare`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.evals.formatting import _clip, _fmt
from assistant.evals.metrics import (
    LATENCY_METRICS,
    LOWER_IS_BETTER,
    METRICS,
    TOKEN_METRICS,
    _parse_spec,
)
from assistant.evals.results import EvalReport

_LATENCY_NOISE = 0.05  # relative latency change that --compare reports as "same"


def check_fail_under(report: EvalReport | Mapping[str, Any], specs: Sequence[str]) -> list[str]:
    """Check `metric=value` gates; returns one line per failed gate (empty when all pass).

    For metrics where higher is better the value is a lower bound (the run fails under it);
    for `false_abstention_rate`, latencies and token counts (lower is better) it is an upper
    bound (the run fails over it). A metric without a value in this run fails its gate.

    Raises:
        SuiteError: A spec is malformed or names an unknown metric.
    """
    metrics = report.metrics if isinstance(report, EvalReport) else report.get("metrics", {})
    failures: list[str] = []
    for spec in specs:
        name, bound = _parse_spec(spec)
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: no value in this run (no case it applies to), gate {bound:g}")
        elif name in LOWER_IS_BETTER and value > bound:
            failures.append(f"{name} {_fmt(name, value)} > {bound:g} (upper bound)")
        elif name not in LOWER_IS_BETTER and value < bound:
            failures.append(f"{name} {_fmt(name, value)} < {bound:g} (fail-under)")
    return failures


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Describe what changed between two `report.json` documents.

    Lists each metric as `old -> new` with improved/regressed (direction-aware; latency changes
    within 5% count as the same), then the cases that flipped between correct and wrong.
    """
    lines = [
        f"suite {old.get('suite', '?')} -> {new.get('suite', '?')}; "
        f"model {old.get('model', '?')} -> {new.get('model', '?')}; "
        f"settings {old.get('settings_hash', '?')} -> {new.get('settings_hash', '?')}",
        "",
        f"{'metric':<24} {'old':>9}    {'new':>9}  {'change':>9}  verdict",
    ]
    if old.get("suite") != new.get("suite"):
        lines.insert(1, "note: these reports are of different suites; cases cannot match")
    lines += _metric_changes(old.get("metrics", {}), new.get("metrics", {}))
    lines += _case_flips(old, new)
    return "\n".join(lines)


def _metric_changes(old_m: Mapping[str, Any], new_m: Mapping[str, Any]) -> list[str]:
    """One line per metric either report has (`old -> new`, change, verdict), then the tally."""
    names = [m for m in METRICS if m in old_m or m in new_m]
    names += sorted((set(old_m) | set(new_m)) - set(names))
    lines: list[str] = []
    improved = regressed = 0
    for name in names:
        a, b = old_m.get(name), new_m.get(name)
        if a is None and b is None:
            continue
        if a is None or b is None:
            verdict, delta = "new" if a is None else "gone", ""
        else:
            diff = float(b) - float(a)
            counted = name in LATENCY_METRICS or name in TOKEN_METRICS
            delta = _fmt(name, diff) if counted else f"{diff:+.3f}"
            if counted and diff >= 0:
                delta = "+" + delta
            better = diff < 0 if name in LOWER_IS_BETTER else diff > 0
            # timings are noisy on a shared machine: a few percent either way is not a change
            noise = _LATENCY_NOISE * abs(float(a)) if name in LATENCY_METRICS else 1e-9
            if abs(diff) <= noise:
                verdict = "same"
            elif better:
                verdict, improved = "improved", improved + 1
            else:
                verdict, regressed = "REGRESSED", regressed + 1
        lines.append(f"{name:<24} {_fmt(name, a):>9} -> {_fmt(name, b):>9}  {delta:>9}  {verdict}")
    return [*lines, "", f"{improved} improved, {regressed} regressed"]


def _case_flips(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The cases that went from wrong to right (fixed) or back (broke), and unmatched ones."""
    old_cases = {c["id"]: c for c in old.get("cases", []) if isinstance(c, dict) and "id" in c}
    new_cases = {c["id"]: c for c in new.get("cases", []) if isinstance(c, dict) and "id" in c}
    fixed = [
        i
        for i in new_cases
        if i in old_cases and new_cases[i].get("correct") and not old_cases[i].get("correct")
    ]
    broke = [
        i
        for i in new_cases
        if i in old_cases and old_cases[i].get("correct") and not new_cases[i].get("correct")
    ]
    lines: list[str] = []
    if fixed or broke:
        lines.append("")
        lines.append(f"cases that flipped ({len(fixed) + len(broke)}):")
        for label, ids in (("fixed", fixed), ("broke", broke)):
            for case_id in ids:
                question = str(new_cases[case_id].get("question", ""))
                lines.append(f"  {label:<5} {case_id}: {_clip(question, 80)}")
    else:
        lines.append("no case flipped")
    only_old = sorted(set(old_cases) - set(new_cases))
    only_new = sorted(set(new_cases) - set(old_cases))
    if only_old or only_new:
        lines.append(f"cases only in old: {len(only_old)}, only in new: {len(only_new)}")
    return lines
