"""Unit tests for the Markdown loader: front matter and headings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
)
from tests.unit.loaders.helpers import assert_one_line_error, load_one, write


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "post.md",
        "---\ntitle: Rates rise again\nsource: AP\ndate: 2024-05-01\n"
        "url: https://apnews.com/x\n---\n# Rates rise again\n\nThe **Fed** acted.\n",
    )
    article = load_one(path)
    assert article.title == "Rates rise again"
    assert article.source == "AP"
    assert article.published == date(2024, 5, 1)
    assert article.url == "https://apnews.com/x"
    assert article.text == "# Rates rise again\n\nThe **Fed** acted."


def test_markdown_heading_is_title_and_not_repeated(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.markdown", "# The headline\n\nFirst para.\n\n## Section\n\nMore.")
    article = load_one(path)
    assert article.title == "The headline"
    assert article.text == "First para.\n\n## Section\n\nMore."
    assert article.id == "doc"


def test_markdown_without_heading_uses_first_sentence(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.md", "Voters went to the polls on Tuesday. Turnout was high.\n")
    article = load_one(path)
    assert article.title == "Voters went to the polls on Tuesday."
    assert article.text == "Voters went to the polls on Tuesday. Turnout was high."


def test_markdown_bad_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody.\n")
    with pytest.raises(InputError, match="invalid YAML front matter") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)
