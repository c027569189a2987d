"""RSS and Atom feeds: the feed title and its entries (link, title, date, content), via feedparser.

Parsing only: the bytes come from a file or from `assistant.fetch`, and feedparser is never
handed a URL (it would fetch it itself, without our timeout and size cap).
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.errors import InputError
from assistant.loaders.html import html_fragment_text
from assistant.loaders.metadata import _to_str

FEED_SUFFIXES = (".rss", ".atom", ".xml")
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml"}
)
# The first element after the XML prolog (declaration, comments, stylesheet, doctype).
_PROLOG_RE = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>)", re.S | re.I)
_FEED_ROOT_RE = re.compile(rb"<(?:[a-z0-9]+:)?(?:rss|feed|rdf)[\s>/]", re.I)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed."""

    key: str
    link: str | None
    title: str | None
    published: date | None
    author: str | None
    content: str  # the text of the full content (content:encoded, atom:content), or ""
    summary: str  # the text of the description / atom:summary, or ""
    fingerprint: str  # changes whenever the entry does


@dataclass(frozen=True)
class Feed:
    """A parsed feed."""

    title: str | None
    link: str | None
    entries: tuple[FeedEntry, ...]


def looks_like_feed(data: bytes) -> bool:
    """Whether the document's root element is `<rss>`, `<feed>` or `<rdf:RDF>`."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    pos = 0
    while match := _PROLOG_RE.match(head, pos):
        pos = match.end()
    return bool(_FEED_ROOT_RE.match(head[pos:].lstrip()))


def parse_feed(data: bytes, *, origin: str, base_url: str | None = None) -> Feed:
    """Read an RSS or Atom feed.

    Args:
        data: The feed's bytes.
        origin: The file or URL, for error messages.
        base_url: Where the feed came from, to resolve relative links.

    Returns:
        The feed and its entries, in the feed's order.

    Raises:
        InputError: The bytes are not a feed feedparser can read, or it has no entries.
    """
    import feedparser

    headers = {"content-location": base_url} if base_url else {}
    parsed: Any = feedparser.parse(io.BytesIO(data), response_headers=headers)
    if not parsed.entries:
        reason = parsed.get("bozo_exception")
        if parsed.get("bozo") or not parsed.get("version"):
            detail = f" ({' '.join(str(reason).split())[:120]})" if reason else ""
            raise InputError(f"{origin}: not a readable RSS or Atom feed{detail}")
        raise InputError(f"{origin}: the feed has no entries")
    meta = parsed.get("feed", {})
    entries = tuple(_entry(e, i) for i, e in enumerate(parsed.entries))
    return Feed(title=_to_str(meta.get("title")), link=_to_str(meta.get("link")), entries=entries)


def _entry(raw: Any, index: int) -> FeedEntry:
    link = _to_str(raw.get("link"))
    title = _to_str(raw.get("title"))
    content = "\n\n".join(
        html_fragment_text(str(part.get("value", ""))) for part in raw.get("content") or []
    ).strip()
    summary = html_fragment_text(str(raw.get("summary") or "")).strip()
    # dict.get: feedparser's own get() warns when it maps a missing "updated" to "published"
    stamp = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    published = date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday) if stamp else None
    key = _to_str(raw.get("id")) or link or title or f"entry-{index}"
    changes = [key, link, title, str(dict.get(raw, "updated") or dict.get(raw, "published") or "")]
    fingerprint = hashlib.sha256(
        "\x1f".join([*(c or "" for c in changes), content, summary]).encode("utf-8")
    ).hexdigest()[:16]
    return FeedEntry(
        key=key,
        link=link,
        title=title,
        published=published,
        author=_to_str(raw.get("author")),
        content=content,
        summary=summary,
        fingerprint=fingerprint,
    )
