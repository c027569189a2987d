"""Figure 6a: cold start of `import assistant` and `assistant --help`, in fresh processes.

Heavy libraries (torch, chromadb, gradio, llama.cpp) load inside functions, so neither should
pay for them. Each command runs several times in a row. The figure is the fastest run: on a
shared machine, other processes only ever add time, so the minimum is the best estimate of the
command's own cost (the median is reported beside it). A bare `python -c pass` is timed
alongside as the floor no package can go under.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import ROOT, Bench, child_env, percentile, rounded, row, stopwatch

TARGET_S = 1.0


def _seconds(command: list[str], runs: int) -> tuple[float, float]:
    """(fastest, median) wall time of `runs` fresh runs of `command`."""
    times = []
    for _ in range(runs):
        with stopwatch() as elapsed:
            subprocess.run(
                command, cwd=ROOT, env=child_env(), check=True, capture_output=True, timeout=120
            )
        times.append(elapsed())
    return min(times), percentile(times, 50)


def cli_command() -> list[str]:
    """The `assistant` console script of this interpreter, or `python -m assistant`."""
    script = Path(sys.executable).with_name("assistant")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "assistant"]


def run(bench: Bench) -> dict[str, Any]:
    """Time the cold starts; see the module docstring."""
    runs = 3 if bench.quick else 7
    floor, _ = _seconds([sys.executable, "-c", "pass"], runs)
    imported, imported_median = _seconds([sys.executable, "-c", "import assistant"], runs)
    helped, helped_median = _seconds([*cli_command(), "--help"], runs)
    bench.log(f"cold start: python {floor:.2f} s, import {imported:.2f} s, --help {helped:.2f} s")
    return {
        "cold_start": {
            "python_s": rounded(floor, 3),
            "import_s": rounded(imported, 3),
            "import_median_s": rounded(imported_median, 3),
            "help_s": rounded(helped, 3),
            "help_median_s": rounded(helped_median, 3),
            "runs": runs,
        },
        "rows": [
            row(
                "import_assistant_s",
                rounded(imported, 3),
                f"< {TARGET_S:g} s",
                imported < TARGET_S,
                f"fastest of {runs} fresh processes (median {imported_median:.2f} s); "
                f"bare python {floor:.2f} s",
            ),
            row(
                "assistant_help_s",
                rounded(helped, 3),
                f"< {TARGET_S:g} s",
                helped < TARGET_S,
                f"fastest of {runs} fresh processes (median {helped_median:.2f} s)",
            ),
        ],
    }
