"""Plain-text articles: "Key: value" headers, title line, dateline and copyright trailer."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from assistant.loaders.encoding import normalise_text
from assistant.loaders.metadata import _make_article, parse_date
from assistant.types import Article

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
