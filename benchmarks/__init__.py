"""Speed and memory figures of the assistant: `python -m benchmarks [--quick] [--json]`.

Every figure is a ratio of two things measured side by side in the same run, because the machines
this runs on are small and shared; absolute times are printed for context only. One module per
figure (`bench_*.py`), each with `run(bench) -> dict`; `__main__` runs them, prints a table and
writes `benchmarks/results.json`. See benchmarks/README.md for what each figure means.

This module holds what the figures share and imports nothing heavy.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.embeddings import Embedder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEEDS_SUITE = ROOT / "evals" / "seeds.jsonl"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100.0
    lower = math.floor(pos)
    upper = min(lower + 1, len(data) - 1)
    return data[lower] + (data[upper] - data[lower]) * (pos - lower)


def rounded(value: float | None, digits: int = 3) -> float | None:
    """`value` rounded for the report; None stays None and NaN becomes None (valid JSON)."""
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Time a block: `with stopwatch() as elapsed: ...; elapsed()` gives seconds."""
    started = time.perf_counter()
    ended: list[float] = []
    try:
        yield lambda: (ended[0] if ended else time.perf_counter()) - started
    finally:
        ended.append(time.perf_counter())


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) in MB of this process or of `pid` (Linux /proc)."""
    status = Path(f"/proc/{pid or 'self'}/status")
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def child_env() -> dict[str, str]:
    """Environment for subprocesses: offline, quiet, and importing this checkout first."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass
class Bench:
    """What the figures share in one run: mode, scratch folder and the loaded models.

    Attributes:
        quick: The short run (`--quick`): smaller corpora and fewer questions.
        work: Scratch folder for stores and corpora (deleted after the run).
        evaldata: The public eval data folder (RealTime QA); figures that need it say so
            when it is missing.
        verbose: Progress lines on stderr.
    """

    quick: bool
    work: Path
    evaldata: Path = field(default_factory=lambda: Settings().evaldata_dir)
    verbose: bool = True
    _embedder: Embedder | None = None
    _chat_model: BaseChatModel | None = None
    shared: dict[str, Any] = field(default_factory=dict)

    def settings(self, name: str, **overrides: Any) -> Settings:
        """Settings for a fresh embedded store in `work/name`, defaults otherwise."""
        overrides.setdefault("data_dir", self.work / name / "data")
        overrides.setdefault("chroma_url", None)
        return Settings(**overrides)

    @property
    def embedder(self) -> Embedder:
        """The real MiniLM embedder (torch backend), loaded once and shared by every figure."""
        if self._embedder is None:
            from assistant.embeddings import Embedder

            self._embedder = Embedder(Settings(embedding_backend="torch"))
            self._embedder.embed(["warm up"])
        return self._embedder

    @property
    def chat_model(self) -> BaseChatModel:
        """The default local chat model, loaded once and shared by every figure."""
        if self._chat_model is None:
            from assistant.llm import make_chat_model

            self._chat_model = make_chat_model(Settings())
        return self._chat_model

    @property
    def rtqa(self) -> Path:
        """The RealTime QA folder in the eval data."""
        return self.evaldata / "realtimeqa"

    def has_rtqa(self) -> bool:
        """True when the RealTime QA corpus and dev questions are there."""
        return (self.rtqa / "corpus.jsonl").is_file() and (self.rtqa / "dev.jsonl").is_file()

    def log(self, message: str) -> None:
        """A progress line on stderr (stdout stays clean for --json)."""
        if self.verbose:
            print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def row(
    figure: str, value: float | str | None, target: str, met: bool | None, context: str = ""
) -> dict[str, Any]:
    """One line of the results table.

    Args:
        figure: What is measured, e.g. `ingest_vs_bound`.
        value: The figure (a ratio where possible).
        target: The goal in words, e.g. `>= 0.90`; empty when there is none.
        met: Whether the goal is met; None when there is no goal or no value.
        context: Absolute numbers behind the ratio, for people.
    """
    return {"figure": figure, "value": value, "target": target, "met": met, "context": context}
