"""Unit tests for the plain-text loader, on the seed file and on headers, datelines and trailers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.loaders import (
    _source_from_copyright,
)
from tests.unit.loaders.helpers import SEED, load_one, write


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "©2025 Bloomberg L.P. Visit bloomberg.com. Distributed by Tribune Content Agency, LLC.",
            "Bloomberg",
        ),
        ("Copyright 2024 The Associated Press. All rights reserved.", "The Associated Press"),
        ("(c) 2019-2024 Reuters", "Reuters"),
        ("© 2023 The New York Times Company", "The New York Times"),
        ("The copyright of this song expired", None),
        ("Copyright holders will appeal the ruling.", None),
        ("©2025", None),
    ],
)
def test_source_from_copyright(line: str, expected: str | None) -> None:
    assert _source_from_copyright(line) == expected


def test_seed_file() -> None:
    article = load_one(SEED)
    assert article.id == "000_0f8c7ba43273ca44"
    assert article.title == "Trump aims to sign mineral deals in Asia to raise pressure on Xi"
    assert article.source == "Bloomberg"
    assert article.path == str(SEED)
    assert article.text.startswith("WASHINGTON — President Donald Trump")
    assert "100% tariff" in article.text
    assert "Published in" not in article.text
    assert "©" not in article.text
    assert "Comments" not in article.text
    assert "Tribune Content Agency" not in article.text
    assert article.text.endswith("to lower tariffs.")
    assert len(article.sha256) == 64


def test_txt_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "note.txt",
        "Title: Fed raises rates\nSource: Reuters\nPublished: 2024-03-20\n"
        "URL: https://example.com/fed\n\nThe Fed raised rates.\nIt was expected.\n",
    )
    article = load_one(path)
    assert article.title == "Fed raises rates"
    assert article.source == "Reuters"
    assert article.published == date(2024, 3, 20)
    assert article.url == "https://example.com/fed"
    assert article.text == "The Fed raised rates.\nIt was expected."


def test_txt_dateline_line_becomes_published(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Big news\nOctober 24, 2025\nSomething happened today.\n")
    article = load_one(path)
    assert article.title == "Big news"
    assert article.published == date(2025, 10, 24)
    assert article.text == "Something happened today."
    assert article.source is None


def test_txt_keeps_a_last_sentence_about_copyright(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "Ruling\nThe court ruled.\nCopyright holders will appeal.\n")
    assert load_one(path).text == "The court ruled.\nCopyright holders will appeal."


def test_txt_one_line_keeps_its_text(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "one.txt", "The meeting is on Tuesday.\n"))
    assert article.title == "The meeting is on Tuesday."
    assert article.text == "The meeting is on Tuesday."


def test_txt_windows_newlines_and_blank_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.txt", b"Title\r\n\r\nPara one.  \r\n\r\n\r\n\r\nPara two.\r\n")
    article = load_one(path)
    assert article.text == "Para one.\n\nPara two."
