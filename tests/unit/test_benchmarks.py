"""The benchmark runner's output shape (the real figures run with `make bench`, not in tests)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import Bench, percentile, rounded, row
from benchmarks import __main__ as runner


def test_percentile_interpolates_and_handles_no_values() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert math.isnan(percentile([], 50))


def test_rounded_turns_nan_into_none_for_json() -> None:
    assert rounded(math.nan) is None
    assert rounded(None) is None
    assert rounded(0.123456, 2) == 0.12


def test_render_table_marks_missed_targets() -> None:
    results = {
        "mode": "quick",
        "machine": {"cpus": 2},
        "table": [
            row("ingest_vs_bound", 0.95, ">= 0.90", True, "ctx | with bar"),
            row("answer_vs_naive", 1.2, "<= 0.8", False),
            row("serve_ready_s", None, "", None),
        ],
    }
    lines = runner.render_table(results).splitlines()
    assert lines[2] == "| ingest_vs_bound | 0.95 | >= 0.90 | yes | ctx / with bar |"
    assert lines[3] == "| answer_vs_naive | 1.2 | <= 0.8 | **no** |  |"
    assert lines[4] == "| serve_ready_s | - |  |  |  |"


def test_quick_json_has_every_top_level_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The cold-start figure is the one cheap enough here: it only starts a few processes.
    out = tmp_path / "results.json"
    code = runner.main(["--quick", "--json", "--quiet", "--only", "cold_start", "--out", str(out)])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed == json.loads(out.read_text())
    for key in runner.TOP_KEYS:
        assert key in printed
    assert printed["mode"] == "quick"
    assert printed["errors"] == {}
    assert printed["ingest_vs_bound"] is None  # its figure did not run
    cold = printed["cold_start"]
    assert 0 < cold["python_s"] <= cold["import_s"] + 1.0
    assert cold["help_s"] > 0
    assert [r["figure"] for r in printed["table"]] == ["import_assistant_s", "assistant_help_s"]


def test_a_failing_figure_is_reported_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import bench_coldstart

    def fake_run(bench: Bench) -> dict[str, Any]:
        raise RuntimeError("store at /x is broken\nsecond line")

    monkeypatch.setattr(bench_coldstart, "run", fake_run)
    bench = Bench(quick=True, work=tmp_path, verbose=False)
    results = runner.run_figures(bench, ["cold_start"])
    assert results["errors"] == {"cold_start": "RuntimeError: store at /x is broken"}
    assert results["table"][0]["met"] is False
    assert results["cold_start"] is None
