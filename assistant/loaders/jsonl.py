"""JSON lines: one article per record, streamed line by line; bad lines are reported, not fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from assistant.errors import InputError
from assistant.loaders.encoding import _BINARY_SAMPLE, normalise_text
from assistant.loaders.metadata import _make_article, _to_date, _to_str, fallback_title, slugify
from assistant.types import Article

_READ_CHUNK = 1 << 20


def _jsonl_lines(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes) for each line, reading line by line so huge files stream;
    a line over `max_bytes` is skipped and yielded as None instead of being held in memory."""
    lineno = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (rest := handle.readline(_READ_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield lineno, None
            continue
        yield lineno, line


def _record_article(
    path: Path, lineno: int, record: dict[str, Any], used_ids: set[str]
) -> Article | InputError:
    where = f"{path}:{lineno}"
    text = record.get("text")
    if text is None:
        return InputError(f"{where}: missing 'text'")
    if not isinstance(text, str):
        return InputError(f"{where}: 'text' is a {type(text).__name__}, not a string")
    body = normalise_text(text)
    if not body:
        return InputError(f"{where}: empty 'text'")
    url = _to_str(record.get("url"))
    title = fallback_title(_to_str(record.get("title")), url, body)
    explicit_id = _to_str(record.get("id")) or _to_str(record.get("doc_id"))
    if explicit_id:
        if explicit_id in used_ids:
            return InputError(f"{where}: duplicate id '{explicit_id}'")
        article_id = explicit_id
    else:
        base = slugify(title) or f"{path.stem}-{lineno}"
        article_id, n = base, 1
        while article_id in used_ids:
            n += 1
            article_id = f"{base}-{n}"
    published = next(
        (
            when
            for key in ("published", "publish_date", "date")
            if (when := _to_date(record.get(key)))
        ),
        None,
    )
    used_ids.add(article_id)
    return _make_article(
        path,
        article_id=article_id,
        title=title,
        text=body,
        source=_to_str(record.get("source")),
        url=url,
        published=published,
    )


def _load_jsonl(path: Path, max_bytes: int) -> Iterator[Article | InputError]:
    try:
        with path.open("rb") as handle:
            yield from _load_jsonl_handle(path, handle, max_bytes)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _load_jsonl_handle(
    path: Path, handle: BinaryIO, max_bytes: int
) -> Iterator[Article | InputError]:
    head = handle.read(_BINARY_SAMPLE)
    if not head:
        raise InputError(f"{path}: file is empty")
    if b"\x00" in head:
        raise InputError(f"{path}: looks like a binary file, not JSON lines")
    handle.seek(0)
    used_ids: set[str] = set()
    found = False
    for lineno, line in _jsonl_lines(handle, max_bytes):
        where = f"{path}:{lineno}"
        if line is None:
            yield InputError(f"{where}: line is over the {max_bytes / 1e6:g} MB limit")
            continue
        try:
            decoded = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield InputError(f"{where}: not UTF-8 (invalid byte at column {exc.start + 1})")
            continue
        if not decoded.strip():
            continue
        found = True
        try:
            record = json.loads(decoded)
        except json.JSONDecodeError as exc:
            yield InputError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(record, dict):
            yield InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
            continue
        yield _record_article(path, lineno, record, used_ids)
    if not found:
        raise InputError(f"{path}: file has only whitespace")
