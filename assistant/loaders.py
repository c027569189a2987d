"""Files -> `Article`s: text, Markdown, HTML, PDF and JSONL, with metadata; bad input is rejected.

Every rejection is an `InputError` whose message is one line starting with the file's path (and
line number for JSONL), so a directory ingest can report it and carry on with the other files.

`Article.text` is the canonical text every character offset (chunks, citations) points into, so
it is normalised exactly once, here, by `normalise_text`.

Encoding policy: UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such. Anything
else is decoded as Windows-1252 (a superset of Latin-1's printable range) only when the result is
plausibly Western text: few non-ASCII bytes and no control characters. Old news exports are often
cp1252, so refusing them would be unhelpful; text in other legacy encodings (e.g. Shift-JIS) is
mostly high bytes and is rejected with a message asking for UTF-8 rather than ingested as mojibake.
"""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from assistant.errors import InputError
from assistant.types import Article

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")

_DEFAULT_MAX_BYTES = 20_000_000
_TITLE_MAX_CHARS = 80
_BINARY_SAMPLE = 8192

# --- text normalisation -------------------------------------------------------------------

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


# --- small public helpers -----------------------------------------------------------------

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_RE = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY_RE = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
# An optional time after the date ("10:00", "9:30 a.m. et", "t10:00:00.5+02:00"), and nothing
# else, so that a body line that merely starts with a date is not mistaken for a dateline.
_TIME_RE = (
    r"(?:[\st,]+(?:at\s+)?\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?\s*(?:[ap]\.?m\.?)?"
    r"|[\s,]+(?:at\s+)?\d{1,2}\s*[ap]\.?m\.?)?"
    r"\s*(?:z|utc|gmt|[ecmp][sd]?t|[+-]\d{2}:?\d{2})?"
)
_DATE_PATTERNS = (
    # 2022-09-14, 2022/09/14, 2022.09.14
    re.compile(r"(?P<year>\d{4})([-/.])(?P<mon>\d{1,2})\2(?P<day>\d{1,2})" + _TIME_RE),
    # 20220914
    re.compile(r"(?P<year>\d{4})(?P<mon>\d{2})(?P<day>\d{2})"),
    # Sept. 14, 2022 / October 24 2025 / Fri, Oct 24, 2025 10:00 ET
    re.compile(
        _WEEKDAY_RE
        + _MONTH_RE
        + r"\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
        + _TIME_RE
    ),
    # 14 September 2022 / 14 Sept. 2022
    re.compile(
        _WEEKDAY_RE
        + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+"
        + _MONTH_RE
        + r",?\s+(?P<year>\d{4})"
        + _TIME_RE
    ),
)


def parse_date(value: str | None) -> date | None:
    """Parse the publication dates news data comes with.

    Accepts ``2022/09/14``, ``2022-09-14``, ISO datetimes (``2022-09-14T10:00:00Z``),
    ``Sept. 14, 2022``, ``October 24, 2025``, ``14 Oct 2025`` and RFC 2822 dates.

    Args:
        value: The text to parse, or None.

    Returns:
        The date, or None when the value is missing or not a recognisable date.
    """
    if not value:
        return None
    text = value.strip().lower()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        parts = match.groupdict()
        month = int(parts["mon"]) if parts.get("mon") else _MONTHS[parts["month"][:3]]
        try:
            return date(int(parts["year"]), month, int(parts["day"]))
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(value.strip()).date()
    except (TypeError, ValueError, IndexError):
        return None


_SLUG_MAX_CHARS = 80


def slugify(text: str) -> str:
    """Turn a title into a lowercase ASCII id such as ``trump-aims-to-sign-mineral-deals``.

    Accents are folded (``café`` -> ``cafe``); anything else that is not a letter or digit
    becomes a hyphen. Long slugs are cut at a hyphen to at most 80 characters.

    Args:
        text: Any text.

    Returns:
        The slug; empty when the text has no ASCII letters or digits.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > _SLUG_MAX_CHARS:
        cut = slug.rfind("-", 0, _SLUG_MAX_CHARS + 1)
        slug = slug[: cut if cut > 0 else _SLUG_MAX_CHARS].strip("-")
    return slug


# --- finding files ------------------------------------------------------------------------


def _unsupported(path: Path) -> InputError:
    suffix = path.suffix or "(none)"
    return InputError(
        f"{path}: unsupported file type '{suffix}' (supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def _missing(path: Path) -> InputError:
    if path.is_symlink():
        return InputError(f"{path}: broken or looping symbolic link")
    return InputError(f"{path}: no such file or directory")


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _walk_dir(root: Path, seen_dirs: set[Path]) -> Iterator[Path | InputError]:
    """Yield supported files under `root` depth-first in name order, never entering a directory
    twice (symlink loops) and never recursing in Python (very deep trees)."""
    stack: list[Iterator[Path]] = []

    def enter(directory: Path) -> InputError | None:
        try:
            resolved = directory.resolve()
        except (OSError, RuntimeError):
            return None  # an unresolvable link loop: nothing to read there
        if resolved in seen_dirs:
            return None
        seen_dirs.add(resolved)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            return InputError(f"{directory}: cannot list directory ({exc.strerror or exc})")
        stack.append(iter([directory / entry.name for entry in entries]))
        return None

    error = enter(root)
    if error:
        yield error
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if child.name.startswith("."):
            continue
        try:
            is_dir, is_file = child.is_dir(), child.is_file()
        except OSError:
            continue  # e.g. a symlink loop deep inside: skip it like other unreadable entries
        if is_dir:
            error = enter(child)
            if error:
                yield error
        elif is_file and _is_supported(child):
            yield child


def iter_entries(paths: Iterable[str | Path]) -> Iterator[Path | InputError]:
    """`iter_files`, but each problem is yielded as an `InputError` and the walk goes on.

    Args:
        paths: Files and directories.

    Yields:
        Paths of supported files and, in between, one `InputError` per bad path.
    """
    seen_dirs: set[Path] = set()
    seen_files: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except OSError:
            exists = is_dir = False
        if not exists:
            yield _missing(path)
            continue
        found: Iterable[Path | InputError]
        if is_dir:
            found = _walk_dir(path, seen_dirs)
        elif not _is_supported(path):
            yield _unsupported(path)
            continue
        elif not path.is_file():
            yield InputError(f"{path}: not a regular file")
            continue
        else:
            found = [path]
        for item in found:
            if isinstance(item, InputError):
                yield item
                continue
            resolved = item.resolve()
            if resolved not in seen_files:
                seen_files.add(resolved)
                yield item


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and directories into the files to ingest.

    Directories are walked recursively in sorted order; hidden files and folders and files of
    unsupported types inside them are skipped, each directory is entered once (so symlink loops
    end) and a file reached twice is yielded once.

    Args:
        paths: Files and directories.

    Yields:
        Paths of supported files.

    Raises:
        InputError: A path does not exist, a directory cannot be listed, or a file named
            explicitly has an unsupported type.
    """
    for item in iter_entries(paths):
        if isinstance(item, InputError):
            raise item
        yield item


# --- reading and decoding -----------------------------------------------------------------


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


def _decode(path: Path, data: bytes) -> str:
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


# --- metadata helpers ---------------------------------------------------------------------


def _to_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    return None


def _to_str(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


# A full stop after a lone capital is an initial ("W. Kamau Bell"), not a sentence end.
_FIRST_SENTENCE_RE = re.compile(r"(.+?(?<!\b[A-Z])[.!?])[\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])")


def _title_from_text(text: str) -> str:
    """A title for an article that has none: its first real sentence, at most 80 characters.

    Dateline-only lines such as ``Washington CNN —`` are skipped.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    chosen = next(
        (line for line in lines if len(line.split()) >= 4 and line[-1] not in "—–-:"),
        lines[0] if lines else "",
    )
    match = _FIRST_SENTENCE_RE.match(chosen)
    sentence = match.group(1) if match else chosen
    return _shorten(sentence, _TITLE_MAX_CHARS)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:") + "…"


def _make_article(
    path: Path,
    *,
    article_id: str,
    title: str | None,
    text: str,
    source: str | None = None,
    url: str | None = None,
    published: date | None = None,
) -> Article:
    body = normalise_text(text)
    if not body:
        raise InputError(f"{path}: no article text")
    clean_title = _to_str(title) or _title_from_text(body)
    return Article(
        id=article_id,
        title=clean_title,
        text=body,
        source=_to_str(source) or _domain(url),
        url=_to_str(url),
        published=published,
        path=str(path),
    )


# --- .txt ---------------------------------------------------------------------------------

_HEADER_RE = re.compile(
    r"(?i)(?P<key>title|headline|source|publisher|published|date|url|link):[ \t]*(?P<value>.*)"
)
_HEADER_KEYS = {
    "title": "title",
    "headline": "title",
    "source": "source",
    "publisher": "source",
    "published": "published",
    "date": "published",
    "url": "url",
    "link": "url",
}
_SECTION_RE = re.compile(r"(?i)published in\b.*")
# "Copyright" alone could start a real sentence, so it needs a symbol or a year after it.
_COPYRIGHT_RE = re.compile(
    r"(?i)^(?:©|\(c\)|copyright\b(?=\s*(?:©|\(c\)|\d{4})))\s*(?:©|\(c\))?\s*"
)
_TRAILER_RE = re.compile(
    r"(?i)(?:comments?(?:\s*\(\d+\))?|\d+\s+comments?|view comments|share this(?: article)?"
    r"|distributed by\b.*|all rights reserved\.?|advertisement)"
)
_COPYRIGHT_CUT_RE = re.compile(
    r"(?i)\s+(?:visit|distributed|all rights|used with|reprinted|published|licensed|for more)\b"
)
_YEARS_RE = re.compile(r"^\d{4}(?:\s*[-–]\s*\d{4})?[,.]?\s*")
_CORPORATE_SUFFIX_RE = re.compile(
    r"(?i)[,\s]+(?:l\.?\s?p\.?|llc|l\.l\.c\.?|inc\.?|ltd\.?|limited|corp\.?|corporation|co\.?"
    r"|company|plc|gmbh|s\.a\.?)$"
)


def _source_from_copyright(line: str) -> str | None:
    """Guess the publisher named by a copyright line.

    ``©2025 Bloomberg L.P. Visit bloomberg.com. Distributed by Tribune Content Agency, LLC.``
    gives ``Bloomberg``; ``Copyright 2024 The Associated Press. All rights reserved.`` gives
    ``The Associated Press``.

    Args:
        line: One line of text.

    Returns:
        The publisher, or None when the line is not a copyright line or names nobody.
    """
    match = _COPYRIGHT_RE.match(line.strip())
    if not match:
        return None
    rest = _YEARS_RE.sub("", line.strip()[match.end() :])
    cut = _COPYRIGHT_CUT_RE.search(rest)
    if cut:
        rest = rest[: cut.start()]
    rest = rest.strip().rstrip(".,;: ")
    while True:
        shorter = _CORPORATE_SUFFIX_RE.sub("", rest).rstrip(".,;: ")
        if shorter == rest:
            break
        rest = shorter
    if not rest or len(rest) > 60 or not any(char.isalpha() for char in rest):
        return None
    return rest


def _parse_txt(path: Path, raw: str) -> Article:
    lines = normalise_text(raw).split("\n")
    meta: dict[str, str] = {}
    pos = 0
    # "Key: value" headers at the top; a blank line may end them.
    while pos < len(lines) and (match := _HEADER_RE.fullmatch(lines[pos].strip())):
        meta.setdefault(_HEADER_KEYS[match["key"].lower()], match["value"].strip())
        pos += 1
    while pos < len(lines) and not lines[pos].strip():
        pos += 1

    title = meta.get("title")
    if not title and pos < len(lines):
        title = lines[pos].strip()
        pos += 1
    # "Published in <section>" and a dateline line directly after the title are metadata.
    while pos < len(lines) and not lines[pos].strip():
        pos += 1
    if pos < len(lines) and _SECTION_RE.fullmatch(lines[pos].strip()):
        pos += 1
    if pos < len(lines) and len(lines[pos]) < 60 and (when := parse_date(lines[pos])):
        meta.setdefault("published", lines[pos])
        published_line: date | None = when
        pos += 1
    else:
        published_line = None

    end = len(lines)
    source = meta.get("source")
    while end > pos:
        line = lines[end - 1].strip()
        if not line or _TRAILER_RE.fullmatch(line):
            end -= 1
        elif _COPYRIGHT_RE.match(line):
            source = source or _source_from_copyright(line)
            end -= 1
        else:
            break
    body = "\n".join(lines[pos:end])
    if not body.strip():
        body = title or ""  # a one-line note: keep it searchable rather than drop it
    return _make_article(
        path,
        article_id=path.stem,
        title=title,
        text=body,
        source=source,
        url=meta.get("url"),
        published=parse_date(meta.get("published")) or published_line,
    )


# --- .md ----------------------------------------------------------------------------------

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _parse_md(path: Path, raw: str) -> Article:
    import yaml

    text = normalise_text(raw)
    meta: dict[str, Any] = {}
    front = _FRONT_MATTER_RE.match(text)
    if front:
        try:
            loaded = yaml.safe_load(front.group(1) or "")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 2}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise InputError(f"{path}: invalid YAML front matter{where}: {problem}") from exc
        except (ValueError, RecursionError) as exc:  # "date: 2025-02-30", absurd nesting
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"{path}: invalid YAML front matter: {detail}") from exc
        if isinstance(loaded, dict):
            meta = {str(key).lower(): value for key, value in loaded.items()}
        text = text[front.end() :]

    title = _to_str(meta.get("title"))
    if not title and (heading := _H1_RE.search(text)):
        title = heading.group(1).strip()
        # Drop the heading line so the title is not repeated in the body.
        text = text[: heading.start()] + text[heading.end() :]
    published = next(
        (
            when
            for key in ("published", "date", "publish_date", "published_at")
            if (when := _to_date(meta.get(key)))
        ),
        None,
    )
    return _make_article(
        path,
        article_id=path.stem,
        title=title,
        text=text,
        source=_to_str(meta.get("source")),
        url=_to_str(meta.get("url")),
        published=published,
    )


# --- .html --------------------------------------------------------------------------------

_DROP_TAGS = frozenset(
    [
        "script",
        "style",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "noscript",
        "template",
        "svg",
        "iframe",
        "button",
        "select",
        "textarea",
        "head",
        "object",
        "embed",
        "canvas",
    ]
)
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "blockquote",
        "body",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hgroup",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "caption",
        "ul",
        "br",
        "html",
    ]
)
_CELL_TAGS = frozenset({"td", "th"})
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publish-date",
    "publish_date",
    "dc.date",
    "dc.date.issued",
    "parsely-pub-date",
    "sailthru.date",
)


def _html_paragraphs(root: Any) -> list[str]:
    """Visible text of `root` as paragraphs, walking the tree with an explicit stack so that
    absurdly deep nesting cannot exhaust Python's recursion limit."""
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    paragraphs: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        paragraph = " ".join("".join(parts).split())
        if paragraph:
            paragraphs.append(paragraph)
        parts.clear()

    stack: list[tuple[Iterator[Any], bool]] = [(iter(root.children), True)]
    while stack:
        children, is_block = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if is_block:
                flush()
            continue
        if isinstance(node, Tag):
            name = (node.name or "").lower()
            if name in _DROP_TAGS:
                continue
            block = name in _BLOCK_TAGS
            if block:
                flush()
            elif name in _CELL_TAGS:
                parts.append(" ")
            stack.append((iter(node.children), block))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            parts.append(str(node))
    flush()
    return paragraphs


def _html_meta(soup: Any, *names: str) -> str | None:
    for tag in soup.find_all("meta"):
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        if key in names and (content := _to_str(tag.get("content"))):
            return content
    return None


def _html_title(soup: Any) -> str | None:
    if title := _html_meta(soup, "og:title", "twitter:title"):
        return title
    for tag in (soup.title, soup.find("h1")):
        if tag is not None and (text := _to_str(tag.get_text())):
            return text
    return None


def _strip_tags(raw: str) -> list[str]:
    """Last-resort text extraction for HTML that the parser cannot handle."""
    raw = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1\s*>", " ", raw)
    raw = re.sub(r"(?i)</?(p|div|br|h[1-6]|li|tr|article|section|blockquote)\b[^>]*>", "\n\n", raw)
    raw = re.sub(r"(?s)<[^>]*>", " ", raw)
    text = html.unescape(raw)
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def _parse_html(path: Path, data: bytes) -> Article:
    from bs4 import BeautifulSoup

    has_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not has_bom and _looks_binary(data):
        raise InputError(f"{path}: looks like a binary file, not HTML")
    try:
        soup = BeautifulSoup(data, "lxml")
        title = _html_title(soup)
        source = _html_meta(soup, "og:site_name", "application-name")
        url = _html_meta(soup, "og:url")
        if not url and (canonical := soup.find("link", rel="canonical")):
            url = _to_str(canonical.get("href"))
        time_tag = soup.find("time", datetime=True)
        published = parse_date(_html_meta(soup, *_PUBLISHED_META)) or (
            parse_date(_to_str(time_tag.get("datetime"))) if time_tag else None
        )
        articles = soup.find_all("article")
        root = (
            max(articles, key=lambda tag: len(tag.get_text()))
            if articles
            else soup.find("main") or soup.body or soup
        )
        paragraphs = _html_paragraphs(root)
    except RecursionError:
        text = _decode(path, data)
        title, source, url, published = None, None, None, None
        paragraphs = _strip_tags(text)
    if title and paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]  # the page's own <h1> repeats the title
    text = "\n\n".join(paragraphs)
    if not text.strip():
        raise InputError(f"{path}: HTML page has no visible text")
    return _make_article(
        path,
        article_id=path.stem,
        title=title,
        text=text,
        source=source,
        url=url,
        published=published,
    )


# --- .pdf ---------------------------------------------------------------------------------

_JUNK_PDF_TITLES = re.compile(r"(?i)^(untitled.*|microsoft word - .*|.*\.(docx?|pdf|indd|tex))$")


def _parse_pdf(path: Path, data: bytes) -> Article:
    import io

    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise InputError(f"{path}: not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        meta_title = _to_str(metadata.title) if metadata else None
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt files; all mean "unreadable"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: corrupt or truncated PDF ({detail})") from exc
    text = "\n\n".join(normalise_text(page) for page in pages if page.strip())
    if not text:
        raise InputError(f"{path}: PDF has no text layer (scanned?)")
    if meta_title and _JUNK_PDF_TITLES.match(meta_title):
        meta_title = None
    title = meta_title or _shorten(text.split("\n", 1)[0], _TITLE_MAX_CHARS)
    return _make_article(path, article_id=path.stem, title=title, text=text)


# --- .jsonl -------------------------------------------------------------------------------

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
    title = _to_str(record.get("title")) or _title_from_text(body)
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
        url=_to_str(record.get("url")),
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


# --- public entry points ------------------------------------------------------------------


def load_file(path: Path, *, max_bytes: int = _DEFAULT_MAX_BYTES) -> Iterator[Article | InputError]:
    """Read one file into articles.

    Args:
        path: A file with a supported suffix.
        max_bytes: Largest file accepted (JSONL files stream, so for them it limits one line).

    Yields:
        Articles; for JSONL also one `InputError` per bad line (the other lines still load).

    Raises:
        InputError: The whole file is unusable: empty, binary, not UTF-8 (see the module
            docstring), too large, a PDF without a text layer, corrupt, or of unknown type.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _unsupported(path)
    if suffix == ".jsonl":
        yield from _load_jsonl(path, max_bytes)
        return
    if suffix == ".pdf":
        yield _parse_pdf(path, _read_bytes(path, max_bytes))
    elif suffix in (".html", ".htm"):
        yield _parse_html(path, _read_bytes(path, max_bytes))
    elif suffix in (".md", ".markdown"):
        yield _parse_md(path, _read_text(path, max_bytes))
    else:
        yield _parse_txt(path, _read_text(path, max_bytes))


def load_paths(
    paths: Iterable[str | Path], *, max_bytes: int = _DEFAULT_MAX_BYTES
) -> Iterator[Article | InputError]:
    """Load every supported file under `paths`, reporting problems instead of stopping.

    Args:
        paths: Files and directories (see `iter_files`).
        max_bytes: Largest file accepted (see `load_file`).

    Yields:
        Articles and, in between, one `InputError` per rejected file, JSONL line or path.
        An article whose id was already loaded from another file in this call is rejected
        too, since storing it would silently replace the first one.
    """
    first_path: dict[str, str] = {}
    for item in iter_entries(paths):
        if isinstance(item, InputError):
            yield item
            continue
        try:
            for loaded in load_file(item, max_bytes=max_bytes):
                if isinstance(loaded, Article):
                    earlier = first_path.setdefault(loaded.id, str(item))
                    if earlier != str(item):
                        yield InputError(
                            f"{item}: article id '{loaded.id}' is already used by {earlier}"
                        )
                        continue
                yield loaded
        except InputError as exc:
            yield exc
