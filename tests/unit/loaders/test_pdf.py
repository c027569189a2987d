"""Unit tests for the PDF loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
)
from tests.unit.loaders.helpers import assert_one_line_error, load_one, make_pdf, write


def test_pdf_with_text(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "report.pdf",
        [["Quarterly report", "Sales rose 5% in May."], ["Page two says more."]],
        title="Q2 Report",
    )
    article = load_one(path)
    assert article.id == "report"
    assert article.title == "Q2 Report"
    assert article.text == "Quarterly report\nSales rose 5% in May.\n\nPage two says more."


def test_pdf_title_from_first_line(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "memo.pdf", [["Memo to staff", "Please read."]])
    assert load_one(path).title == "Memo to staff"


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value) == f"{path}: PDF has no text layer (scanned?)"


def test_truncated_pdf(tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "good.pdf", [["Some text here."]]).read_bytes()
    path = write(tmp_path / "cut.pdf", good[: len(good) // 2])
    with pytest.raises(InputError, match="corrupt or truncated PDF") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


def test_pdf_suffix_on_non_pdf(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.pdf", "just text")
    with pytest.raises(InputError, match="not a PDF file"):
        list(load_file(path))
