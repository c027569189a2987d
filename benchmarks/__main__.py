"""Run the benchmarks: `python -m benchmarks [--quick] [--json] [--only FIGURE ...]`.

Prints a table of figures (ratios measured side by side, with targets) and writes them to
benchmarks/results.json; `--json` prints the same object on stdout instead of the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import ROOT, Bench

# Figure name -> module, in running order. Cold start goes first, before this process loads
# models and while the machine is as quiet as it will be.
FIGURES = {
    "cold_start": "benchmarks.bench_coldstart",
    "ingest": "benchmarks.bench_ingest",
    "onnx": "benchmarks.bench_onnx",
    "retrieval": "benchmarks.bench_retrieval",
    "answer": "benchmarks.bench_answer",
    "serve": "benchmarks.bench_serve",
}
# Keys every result has, None when their figure did not run (so the shape is stable).
TOP_KEYS = (
    "ingest_vs_bound",
    "reingest_vs_first",
    "retrieval_p50_ms",
    "retrieval_p95_ms",
    "answer_vs_naive",
    "accuracy_vs_naive",
    "onnx_speedup",
    "memory",
    "cold_start",
)
DEFAULT_OUT = ROOT / "benchmarks" / "results.json"


def _machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    for name in ("torch", "sentence-transformers", "chromadb", "llama-cpp-python", "onnxruntime"):
        try:
            info[name] = version(name)  # from the metadata: importing torch here costs seconds
        except PackageNotFoundError:
            info[name] = None
    return info


def run_figures(bench: Bench, names: list[str]) -> dict[str, Any]:
    """Run the named figures; a failing figure is recorded and the others still run.

    Returns:
        The results object: TOP_KEYS, per-figure details, `table` rows and `errors`.
    """
    results: dict[str, Any] = dict.fromkeys(TOP_KEYS)
    results["mode"] = "quick" if bench.quick else "full"
    results["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["machine"] = _machine()
    table: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in names:
        module = importlib.import_module(FIGURES[name])
        bench.log(f"--- {name}")
        started = time.perf_counter()
        try:
            out = module.run(bench)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            bench.log(f"{name} failed:\n{traceback.format_exc()}")
            table.append(
                {"figure": name, "value": None, "target": "", "met": False, "context": errors[name]}
            )
        else:
            table += out.pop("rows", [])
            for key, value in out.items():  # figures may each add to a shared key (memory)
                if isinstance(results.get(key), dict) and isinstance(value, dict):
                    results[key].update(value)
                else:
                    results[key] = value
        seconds[name] = round(time.perf_counter() - started, 1)
        bench.log(f"{name} took {seconds[name]} s")
    results["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results["seconds"] = seconds
    results["table"] = table
    results["errors"] = errors
    return results


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def render_table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (readable in a terminal and in README.md)."""
    lines = [
        "| figure | value | target | met | context |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results.get("table", []):
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        context = str(r["context"]).replace("|", "/")
        lines.append(f"| {r['figure']} | {_cell(r['value'])} | {r['target']} | {met} | {context} |")
    load = results.get("machine", {})
    lines.append("")
    lines.append(
        f"{results.get('mode')} run, {load.get('cpus')} CPUs, load average "
        f"{load.get('load_avg_1m_at_start')} -> {load.get('load_avg_1m_at_end')}; "
        f"seconds per figure: {results.get('seconds')}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns 1 when a figure failed to run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short run (a few minutes)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(FIGURES),
        help="run only this figure (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file to write")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    parser.add_argument("--workdir", type=Path, help="keep stores and corpora here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # What Embedder sets before torch loads; the ingest figure's bare encode may load torch
    # first, and both sides of its ratio should run with the assistant's thread policy.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    names = [n for n in FIGURES if not args.only or n in args.only]

    work = args.workdir or Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(quick=args.quick, work=work, verbose=not args.quiet)
        results = run_figures(bench, names)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(results, indent=2, default=str)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(text)
    else:
        print(render_table(results))
        if not args.no_write:
            print(f"\nwritten to {args.out}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
