"""The ablation table and the settings each ablation switches."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.config import Settings
from assistant.evaluation import ABLATION_METRICS, ABLATIONS, EvalReport, render_ablation


def _report(contains: float, seconds: float) -> EvalReport:
    return EvalReport(
        suite="demo",
        model="m",
        started=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        seconds=seconds,
        metrics={"answer_contains_gold": contains, "latency_ms_p50": 1234.0},
        cases=[],
    )


def test_every_ablation_names_real_settings() -> None:
    for overrides in ABLATIONS.values():
        Settings(**overrides)  # raises on an unknown or invalid setting


def test_render_ablation_has_one_row_per_variant_and_every_metric() -> None:
    table = render_ablation(
        [("default", _report(0.5, 120)), ("dense only", _report(0.25, 60))], command="x"
    )
    first_table = table.split("\n\n")[2]
    lines = [line for line in first_table.splitlines() if line.startswith("| ")]
    assert len(lines) == 4  # header, separator, 2 rows
    assert all(m in lines[0] for m in ABLATION_METRICS)
    assert "| default |" in table and "| dense only |" in table
    assert lines[2].endswith("2.0 |") and lines[3].endswith("1.0 |")  # minutes
    assert render_ablation([]) == ""
