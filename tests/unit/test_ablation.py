"""The ablation table and the settings each ablation switches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant import evals
from assistant.config import Settings
from assistant.evals import (
    ABLATION_METRICS,
    ABLATIONS,
    SUITE_TARGETS,
    EvalReport,
    render_ablation,
    render_ablations,
    run_ablations,
)


def _report(
    contains: float, seconds: float, suite: str = "demo", **metrics: float | None
) -> EvalReport:
    return EvalReport(
        suite=suite,
        model="m",
        started=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        seconds=seconds,
        metrics={"answer_contains_gold": contains, "latency_ms_p50": 1234.0, **metrics},
        cases=[],
    )


def _tables(text: str) -> list[list[str]]:
    """The Markdown tables of `text`, each as its `| ...` lines."""
    tables: list[list[str]] = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("| ")]
        if lines:
            tables.append(lines)
    return tables


def test_every_ablation_names_real_settings() -> None:
    for overrides in ABLATIONS.values():
        Settings(**overrides)  # raises on an unknown or invalid setting


def test_every_target_names_a_metric() -> None:
    for targets in SUITE_TARGETS.values():
        assert set(targets) <= set(evals.METRICS)


def test_render_ablation_has_one_row_per_variant_and_every_metric() -> None:
    table = render_ablation(
        [("default", _report(0.5, 120)), ("dense only", _report(0.25, 60))], command="x"
    )
    first_table = table.split("\n\n")[2]
    lines = [line for line in first_table.splitlines() if line.startswith("| ")]
    assert len(lines) == 4  # header, separator, 2 rows
    assert all(m in lines[0] for m in ABLATION_METRICS)
    assert "answer_semantic_match" in lines[0] and "prompt_tokens_p50" in lines[0]
    assert "conflict_surfaced_rate" not in lines[0]  # no row measured it
    assert "| default |" in table and "| dense only |" in table
    assert lines[2].endswith("2.0 |") and lines[3].endswith("1.0 |")  # minutes
    assert "against the targets" not in table  # suite 'demo' has no targets
    assert render_ablation([]) == ""


def test_render_ablation_shows_the_suites_targets() -> None:
    report = _report(0.7, 60, suite="realtimeqa-full", prompt_tokens_p50=812.0)
    table = render_ablation([("default", report)])
    assert "## `default` against the targets" in table
    assert "| answer_contains_gold | ≥ 0.600 | 0.700 | yes |" in table
    assert "| latency_ms_p50 | ≤ 6000 | 1234 | yes |" in table
    assert "| retrieval_recall_at_k | ≥ 0.950 | n/a | no |" in table
    assert " 812 |" in _tables(table)[0][2]


def test_render_ablations_one_section_per_suite() -> None:
    full = [("default", _report(0.7, 60, suite="realtimeqa-full"))]
    counter = [
        ("default", _report(0.8, 30, suite="rgb-counterfactual", conflict_surfaced_rate=0.4)),
        ("dense only", _report(0.6, 30, suite="rgb-counterfactual", conflict_surfaced_rate=0.6)),
    ]
    text = render_ablations(
        [("realtimeqa-full", full), ("rgb-counterfactual", counter)], command="cmd"
    )
    assert text.startswith("# Eval results: ablations\n")
    assert "`cmd`" in text and "over 2 suites" in text
    first, second = text.split("## Suite `realtimeqa-full`")[1].split(
        "## Suite `rgb-counterfactual`"
    )
    assert "### `default` against the targets" in first
    assert "| citation_precision | ≥ 0.900 |" in first
    assert "| conflict_surfaced_rate | ≥ 0.500 | 0.400 | no |" in second
    assert "answer_contains_gold | ≥" not in second  # rgb-counterfactual's own targets only
    tables = _tables(second)
    assert "conflict_surfaced_rate" in tables[0][0] and len(tables[0]) == 4
    assert "conflict_surfaced_rate" not in _tables(first)[0][0]
    # one suite renders as the single-suite file
    assert render_ablations([("realtimeqa-full", full)]) == render_ablation(full)
    assert render_ablations([]) == ""


class FakeRunAblation:
    """Stands in for `run_ablation`: records where each suite's reports would go."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, Path | None, dict[str, Any]]] = []

    def __call__(
        self, path: Path, *, report_dir: Path | None = None, **options: Any
    ) -> list[tuple[str, EvalReport]]:
        self.calls.append((path, report_dir, options))
        return [("default", _report(0.5, 1, suite=f"suite-{path.stem}"))]


def test_run_ablations_gives_each_suite_its_own_report_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeRunAblation()
    monkeypatch.setattr(evals.ablation, "run_ablation", fake)
    sections = run_ablations(
        [Path("evals/a.yaml"), Path("evals/b.yaml")], report_dir=tmp_path, limit=3
    )
    assert [name for name, _ in sections] == ["suite-a", "suite-b"]
    assert [c[1] for c in fake.calls] == [tmp_path / "a", tmp_path / "b"]
    assert all(c[2] == {"limit": 3} for c in fake.calls)
    fake.calls.clear()
    run_ablations([Path("evals/a.yaml")], report_dir=tmp_path)
    assert fake.calls[0][1] == tmp_path  # one suite: the folder itself, as before
    run_ablations([Path("evals/a.yaml"), Path("evals/b.yaml")])
    assert fake.calls[-1][1] is None


def test_cli_ablate_writes_one_section_per_suite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from assistant import cli

    seen: dict[str, Any] = {}

    def fake_run_ablations(
        paths: list[Path], **options: Any
    ) -> list[tuple[str, list[tuple[str, EvalReport]]]]:
        seen["paths"], seen["options"] = paths, options
        return [(p.stem, [("default", _report(0.5, 1, suite=p.stem))]) for p in paths]

    monkeypatch.setattr(cli, "_assistant", lambda args: object())
    monkeypatch.setattr(evals.ablation, "run_ablations", fake_run_ablations)
    out = tmp_path / "RESULTS.md"
    code = cli.main(["eval", "rgb-noise.yaml", "rgb-negative.yaml", "--ablate", str(out)])
    assert code == 0
    assert seen["paths"] == [Path("rgb-noise.yaml"), Path("rgb-negative.yaml")]
    text = out.read_text(encoding="utf-8")
    assert "## Suite `rgb-noise`" in text and "## Suite `rgb-negative`" in text
    assert "`assistant eval rgb-noise.yaml rgb-negative.yaml --ablate" in text
    assert "| abstention_rate | ≥ 0.800 |" in text  # rgb-negative's target
