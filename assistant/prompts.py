"""Prompt templates from `prompts/` (shipped inside the package), checked at load."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError

PROMPT_DIR = Path(__file__).parent / "prompts"

# The placeholders each template must contain, no more and no fewer.
REQUIRED: dict[str, set[str]] = {
    "system": set(),
    "answer": {"today", "sources", "question"},
    "condense": {"history", "question"},
}


@dataclass(frozen=True)
class Prompts:
    """The texts of all prompt templates."""

    system: str
    answer: str
    condense: str


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_prompts(folder: Path | None = None) -> Prompts:
    """Read and check every template.

    Args:
        folder: Where the `<name>.md` files live; defaults to the packaged `prompts/`.

    Raises:
        ConfigError: a template is missing or has wrong placeholders.
    """
    folder = folder or PROMPT_DIR
    texts: dict[str, str] = {}
    for name, required in REQUIRED.items():
        path = folder / f"{name}.md"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{path}: prompt template is missing ({exc.strerror})") from exc
        try:
            found = _placeholders(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: malformed placeholder ({exc})") from exc
        if found != required:
            raise ConfigError(
                f"{path}: placeholders {sorted(found)} but expected {sorted(required)}"
            )
        texts[name] = text
    return Prompts(**texts)
