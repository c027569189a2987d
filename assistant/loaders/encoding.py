"""Reading a file's bytes, decoding them (the encoding policy) and normalising the text.

Encoding policy: UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such. Anything
else is decoded as Windows-1252 (a superset of Latin-1's printable range) only when the result is
plausibly Western text: few non-ASCII bytes and no control characters. Old news exports are often
cp1252, so refusing them would be unhelpful; text in other legacy encodings (e.g. Shift-JIS) is
mostly high bytes and is rejected with a message asking for UTF-8 rather than ingested as mojibake.

`Article.text` is the canonical text every character offset (chunks, citations) points into, so
it is normalised exactly once, by `normalise_text`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from assistant.errors import InputError

_BINARY_SAMPLE = 8192


# Control characters (C0 except \t and \n, DEL, C1) and the BOM carry no text; \r and the
# Unicode line separators are turned into \n before this runs.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_NEWLINES_RE = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_TRAILING_SPACE_RE = re.compile(r"[^\S\n]+(?=\n|\Z)")


def normalise_text(text: str) -> str:
    """Return the canonical form of an article's text.

    Newlines become ``\\n``, control characters (except tab and newline) are removed, trailing
    whitespace is stripped from every line, runs of blank lines collapse to one blank line and
    the whole text is stripped. Unicode quotes and dashes are kept as they are.

    Args:
        text: Raw decoded text.

    Returns:
        The normalised text; applying this function again returns it unchanged.
    """
    text = _NEWLINES_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text)
    text = _TRAILING_SPACE_RE.sub("", text)
    text = _BLANK_RUN_RE.sub("\n\n", text)
    return text.strip()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(path, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:  # the file grew after stat()
        raise _too_large(path, len(data), max_bytes)
    if not data:
        raise InputError(f"{path}: file is empty")
    return data


def _too_large(path: Path, size: int, max_bytes: int) -> InputError:
    return InputError(
        f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit "
        "(ASSISTANT_MAX_FILE_MB)"
    )


def _looks_binary(data: bytes) -> bool:
    sample = data[:_BINARY_SAMPLE]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\x1b")
    return controls > max(2, len(sample) // 100)


def _plausible_cp1252(text: str) -> bool:
    """True when `text` (decoded as cp1252) reads like Western text, not mis-decoded bytes."""
    non_ascii = sum(1 for char in text if ord(char) > 127)
    if non_ascii > 0.3 * max(1, len(text.strip())):
        return False
    return not any(unicodedata.category(char) == "Cc" and char not in "\t\n\r\f" for char in text)


def _decode(path: Path | str, data: bytes) -> str:
    """Decode a whole text file according to the module's encoding policy."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: invalid UTF-16 text (byte {exc.start})") from exc
    if _looks_binary(data):
        raise InputError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # cp1252 leaves five bytes undefined; Latin-1 maps them to C1 controls, which the
    # plausibility check then rejects.
    text = data.decode("cp1252", errors="ignore")
    if len(text) == len(data) and _plausible_cp1252(text):
        return text
    raise InputError(
        f"{path}: not UTF-8 text (invalid byte 0x{data[utf8_error.start]:02x} at offset "
        f"{utf8_error.start}); save it as UTF-8"
    )


def _read_text(path: Path, max_bytes: int) -> str:
    text = _decode(path, _read_bytes(path, max_bytes))
    if not text.strip():
        raise InputError(f"{path}: file has only whitespace")
    return text
