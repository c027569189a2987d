"""Shared helpers for the loader tests: write files, build real PDFs, check error messages."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
)
from assistant.types import Article

SEED = Path(__file__).resolve().parents[3] / "seeds" / "000_0f8c7ba43273ca44.txt"


def load_one(path: Path, **kwargs: int) -> Article:
    """The single article a non-JSONL file gives."""
    items = list(load_file(path, **kwargs))
    assert len(items) == 1
    assert isinstance(items[0], Article)
    return items[0]


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    """Write a real PDF with a Helvetica text layer, one list of lines per page, using pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        if not lines:
            continue
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
        ops = ["BT /F1 12 Tf 72 720 Td"]
        for i, line in enumerate(lines):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(("" if i == 0 else "0 -16 Td ") + f"({escaped}) Tj")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def assert_one_line_error(err: InputError, path: Path) -> None:
    message = str(err)
    assert "\n" not in message
    assert message.startswith(str(path))


def jsonl(*records: object) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"
