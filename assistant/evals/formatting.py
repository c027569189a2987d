"""How metric values and free text appear in the text reports (terminal, Markdown)."""

from __future__ import annotations

from typing import Any

from assistant.evals.metrics import LATENCY_METRICS, TOKEN_METRICS


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if name in LATENCY_METRICS or name in TOKEN_METRICS:
        return f"{value:.0f}"
    return f"{value:.3f}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _md_cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
