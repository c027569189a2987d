"""Unit tests for assistant.loaders.encoding: normalisation, encodings, bad and oversized files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
    normalise_text,
)
from tests.unit.loaders.helpers import assert_one_line_error, load_one, write


def test_normalise_text() -> None:
    raw = "\ufeffTitle  \r\nline\x00 one\t \r\r\n\n\n\nline “two”\x07\r\n\n\n"
    assert normalise_text(raw) == "Title\nline one\n\nline “two”"


@given(st.text())
def test_normalise_text_is_idempotent_and_clean(raw: str) -> None:
    once = normalise_text(raw)
    assert normalise_text(once) == once
    assert "\r" not in once
    assert "\n\n\n" not in once
    assert once == once.strip()
    assert all(ch in "\n\t" or ord(ch) >= 32 for ch in once)


def test_latin1_and_cp1252_files_are_accepted(tmp_path: Path) -> None:
    latin1 = write(
        tmp_path / "latin1.txt", "Café society\nThe café owner said «non».\n".encode("latin-1")
    )
    article = load_one(latin1)
    assert article.title == "Café society"
    assert article.text == "The café owner said «non»."
    cp1252 = write(tmp_path / "cp1252.txt", "Title\nThe café’s owner said “non”.".encode("cp1252"))
    assert load_one(cp1252).text == "The café’s owner said “non”."


def test_utf8_bom_and_utf16_are_accepted(tmp_path: Path) -> None:
    bom = load_one(write(tmp_path / "bom.txt", "\ufeffTitle\nBody text.".encode()))
    assert bom.title == "Title"
    utf16 = load_one(write(tmp_path / "u16.txt", "Titre\nCorps du texte é.".encode("utf-16")))
    assert utf16.text == "Corps du texte é."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b" \n\t\r\n  \n", "file has only whitespace"),
        ("blank.md", b"\n\n", "file has only whitespace"),
        ("bin.txt", bytes(range(256)) * 4, "looks like a binary file"),
        ("png.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "looks like a binary"),
        ("bin.html", b"\x00\x01\x02<html>" * 10, "looks like a binary file"),
        ("sjis.txt", "日本語のニュース記事です。".encode("shift_jis") * 5, "not UTF-8 text"),
    ],
)
def test_bad_file_is_rejected(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError, match=message) as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


def test_too_large_file(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "Title\n" + "x" * 2_500)
    with pytest.raises(InputError) as info:
        list(load_file(path, max_bytes=1_000))
    assert str(info.value) == (f"{path}: 0.0 MB is over the 0.001 MB limit (ASSISTANT_MAX_FILE_MB)")


def test_too_large_message_format(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: 52.4 MB without writing them
        handle.truncate(52_400_000)
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value) == (f"{path}: 52.4 MB is over the 20 MB limit (ASSISTANT_MAX_FILE_MB)")
