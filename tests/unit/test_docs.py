"""The README stays short for a newcomer, starts with the two commands, and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 120
    assert lines[0] == "```bash"
    assert lines[1].startswith("make run ") and lines[2].startswith("make test ")
    assert lines[3] == "```"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    targets = _LINK.findall(doc.read_text(encoding="utf-8"))
    missing = [t for t in targets if "://" not in t and not (doc.parent / t).resolve().exists()]
    assert missing == []
