"""Unit tests for the JSON lines loader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
)
from assistant.types import Article
from tests.unit.loaders.helpers import assert_one_line_error, jsonl, write


def test_jsonl_records(tmp_path: Path) -> None:
    path = write(
        tmp_path / "corpus.jsonl",
        jsonl(
            {
                "doc_id": "rtqa-1",
                "url": "https://www.cnn.com/2022/09/14/x.html",
                "title": None,
                "publish_date": "2022/09/14",
                "authors": ["A"],
                "text": "CNN —\n\nSerena Williams has teased a return to the sport. More text.",
            },
            "",
            {
                "id": 7,
                "title": "Given title",
                "text": "Body.",
                "source": "AP",
                "date": "2024-01-02",
            },
            {"title": "Same Title", "text": "One.", "published": "Sept. 3, 2021"},
            {"title": "Same Title", "text": "Two."},
        ),
    )
    items = list(load_file(path))
    assert all(isinstance(item, Article) for item in items)
    articles = [item for item in items if isinstance(item, Article)]
    first, second, third, fourth = articles
    assert first.id == "rtqa-1"
    assert first.title == "Serena Williams has teased a return to the sport."
    assert first.source == "cnn.com"
    assert first.published == date(2022, 9, 14)
    assert first.text.startswith("CNN —\n\nSerena")
    assert first.path == str(path)
    assert (second.id, second.title, second.source) == ("7", "Given title", "AP")
    assert second.published == date(2024, 1, 2)
    assert second.url is None
    assert (third.id, fourth.id) == ("same-title", "same-title-2")
    assert third.published == date(2021, 9, 3)


def test_a_titleless_record_is_titled_by_its_url_slug(tmp_path: Path) -> None:
    # a news URL's slug is its editors' short headline; the body may be a page's boilerplate
    boilerplate = "How relevant is this ad to you?\n\nVideo player was slow to load content."
    path = write(
        tmp_path / "corpus.jsonl",
        jsonl(
            {
                "url": "https://www.cnn.com/2022/06/15/business/ford-recall/index.html",
                "text": boilerplate,
            },
            {"url": "https://example.com/2022/06/15/a1b2c3d4e5f6a7.html", "text": boilerplate},
            {"title": "Given", "url": "https://x.com/2022/ford-recall", "text": boilerplate},
        ),
    )
    slugged, no_slug, titled = [a for a in load_file(path) if isinstance(a, Article)]
    assert (slugged.id, slugged.title) == ("ford-recall", "Ford recall")
    assert no_slug.title == "How relevant is this ad to you?"
    assert titled.title == "Given"


def test_jsonl_bad_lines_are_reported_and_others_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.jsonl",
        jsonl(
            {"id": "a", "text": "Good one."},
            '{"id": "b", "text": ',
            {"id": "c", "title": "No text"},
            "[1, 2]",
            {"id": "d", "text": "   "},
            {"id": "a", "text": "Duplicate id."},
            {"id": "e", "text": 5},
            {"id": "f", "text": "Good two."},
        ),
    )
    items = list(load_file(path))
    assert [item.id for item in items if isinstance(item, Article)] == ["a", "f"]
    errors = [str(item) for item in items if isinstance(item, InputError)]
    assert errors[0].startswith(f"{path}:2: invalid JSON (")
    assert errors[1] == f"{path}:3: missing 'text'"
    assert errors[2] == f"{path}:4: expected a JSON object, got list"
    assert errors[3] == f"{path}:5: empty 'text'"
    assert errors[4] == f"{path}:6: duplicate id 'a'"
    assert errors[5] == f"{path}:7: 'text' is a int, not a string"
    assert all("\n" not in error for error in errors)


def test_jsonl_is_streamed_but_long_lines_are_rejected(tmp_path: Path) -> None:
    long_text = "word " * 100
    path = write(
        tmp_path / "big.jsonl",
        jsonl({"id": "x", "text": long_text}, {"id": "y", "text": "ok"}, {"id": "z", "text": "ok"}),
    )
    # The file as a whole is larger than max_bytes: that is fine for JSONL.
    items = list(load_file(path, max_bytes=100))
    assert [item.id for item in items if isinstance(item, Article)] == ["y", "z"]
    (error,) = [item for item in items if isinstance(item, InputError)]
    assert str(error).startswith(f"{path}:1: line is over the")


def test_jsonl_invalid_utf8_line(tmp_path: Path) -> None:
    path = write(tmp_path / "enc.jsonl", b'{"text": "caf\xe9"}\n{"text": "fine"}\n')
    items = list(load_file(path))
    assert str(items[0]).startswith(f"{path}:1: not UTF-8")
    assert isinstance(items[1], Article)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_jsonl_empty(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.jsonl", content)
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)
