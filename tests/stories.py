"""A small dated corpus written for the timeline tests (`stories.jsonl`): one story told over
six months.

Five articles follow "rare earth export controls"; one is the same wire report republished by a
second outlet (a near-duplicate), one is undated background and one is off the story.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STORY = "rare earth export controls"

CORPUS = Path(__file__).with_name("stories.jsonl")
ARTICLES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
]


def write_jsonl(path: Path) -> Path:
    """A copy of the corpus (JSONL, as the loaders read it) at `path`."""
    path.write_bytes(CORPUS.read_bytes())
    return path
