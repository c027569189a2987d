"""URLs and feeds -> `Article`s: an article page, or every entry of an RSS/Atom feed.

A feed entry that carries its full text is read from the feed; one that carries only a summary
is read from its page, fetched through `assistant.fetch`. The feed's title becomes each
article's source, the entry's date its publication date and the entry's link its URL. An
article's id comes from its URL (`url_article_id`), so the same story reached as a page or
through a feed, today or on the next refresh, is the same article.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import FetchError, InputError
from assistant.fetch import Fetcher, Page
from assistant.loaders.encoding import _read_bytes
from assistant.loaders.feed import FEED_SUFFIXES, FEED_TYPES, Feed, FeedEntry, looks_like_feed
from assistant.loaders.feed import parse_feed as _parse_feed
from assistant.loaders.html import extract_html
from assistant.loaders.metadata import _make_article, slugify
from assistant.types import Article

# A fetched page with less text than this is a front page, a login wall or an error page.
MIN_ARTICLE_CHARS = 200
# Feed text at least this long is taken as the entry's full text; shorter text is a teaser
# and the entry's page is fetched. Full content (content:encoded, atom:content) is trusted
# sooner than a summary (description), which is often a teaser even when long.
FULL_CONTENT_CHARS = 200
FULL_SUMMARY_CHARS = 1000

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_TYPES = frozenset({"application/xml", "text/xml", "text/plain", ""})
_STEM_RE = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cms)$", re.I)

Kind = Literal["html", "feed"]


def url_article_id(url: str) -> str:
    """A stable, readable article id for a URL: the slug of its last path segment and a hash.

    ``https://news.example/2025/10/24/rare-earths.html`` -> ``rare-earths-1a2b3c4d``.
    """
    parts = urlsplit(url.strip())
    canonical = urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )
    segments = [_STEM_RE.sub("", s) for s in parts.path.split("/") if s]
    segments = [s for s in segments if s.lower() not in ("index", "default", "")]
    slug = slugify(segments[-1] if segments else parts.hostname or "")[:60].strip("-") or "page"
    return f"{slug}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:8]}"


def is_feed_file(path: str | Path) -> bool:
    """A file named on the command line whose suffix says it is a feed (.rss .atom .xml)."""
    candidate = Path(path)
    return candidate.suffix.lower() in FEED_SUFFIXES and candidate.is_file()


def kind_of(page: Page) -> Kind:
    """Whether a fetched page is an HTML page or a feed.

    Raises:
        FetchError: Neither (an image, a PDF, JSON, an XML document that is no feed...).
    """
    feed = looks_like_feed(page.body)
    if page.content_type in FEED_TYPES or feed:
        return "feed"
    if page.content_type in _HTML_TYPES:
        return "html"
    head = page.body[:2048].lower()
    if page.content_type in _XML_TYPES and (b"<html" in head or b"<!doctype html" in head):
        return "html"
    shown = page.content_type or "no content type"
    raise FetchError(f"{page.requested}: not an HTML page or an RSS/Atom feed ({shown})")


def parse_feed(page: Page) -> Feed:
    """The feed a fetched page holds (see `assistant.loaders.feed.parse_feed`)."""
    return _parse_feed(page.body, origin=page.requested, base_url=page.url)


def page_article(page: Page, *, url: str | None = None) -> Article:
    """The article of a fetched HTML page.

    Args:
        page: The fetched page.
        url: The URL to keep as the article's (default: the one requested).

    Raises:
        FetchError: The page holds too little text to be an article.
    """
    url = url or page.requested
    extracted = extract_html(_page_text(page), url=page.url, origin=page.requested)
    text = extracted.text.strip()
    if len(text) < MIN_ARTICLE_CHARS:
        raise FetchError(
            f"{page.requested}: not an article page (only {len(text)} characters of text)"
        )
    return _make_article(
        page.requested,
        article_id=url_article_id(url),
        title=extracted.title,
        text=text,
        source=extracted.source,
        url=url,
        published=extracted.published,
        author=extracted.author,
    )


def entry_needs_page(entry: FeedEntry) -> bool:
    """Whether the feed carries only a teaser of this entry, so its page must be fetched."""
    if len(entry.content) >= FULL_CONTENT_CHARS or len(entry.summary) >= FULL_SUMMARY_CHARS:
        return False
    return entry.link is not None


def entry_article(entry: FeedEntry, feed: Feed, fetcher: Fetcher, *, origin: str) -> Article:
    """The article of one feed entry: from the feed when it carries the full text, else from
    the entry's page.

    Raises:
        InputError: The entry has no text and no link, or its page cannot be fetched or is no
            article (a `FetchError` naming the page's URL).
    """
    if entry_needs_page(entry) and entry.link:
        page = fetcher.get(entry.link)
        if kind_of(page) != "html":
            raise FetchError(f"{entry.link}: the entry's link is a feed, not an article page")
        found = page_article(page, url=entry.link)
        return found.model_copy(
            update={
                "title": entry.title or found.title,
                "source": feed.title or found.source,
                "published": entry.published or found.published,
                "author": entry.author or found.author,
            }
        )
    text = entry.content or entry.summary
    if not text:
        raise InputError(f"{origin}: entry '{entry.title or entry.key}' has no text and no link")
    return _make_article(
        origin,
        article_id=url_article_id(entry.link or f"{origin}#{entry.key}"),
        title=entry.title,
        text=text,
        source=feed.title,
        url=entry.link,
        published=entry.published,
        author=entry.author,
    )


def feed_articles(
    feed: Feed, fetcher: Fetcher, *, origin: str, entries: tuple[FeedEntry, ...] | None = None
) -> Iterator[tuple[FeedEntry, Article | InputError]]:
    """Each entry (of `entries`, default all) with its article, or the one line why not."""
    for entry in feed.entries if entries is None else entries:
        try:
            yield entry, entry_article(entry, feed, fetcher, origin=origin)
        except InputError as exc:
            yield entry, exc


def load_url(url: str, fetcher: Fetcher) -> Iterator[Article | InputError]:
    """The article at `url`, or every entry of the feed at `url`.

    Yields:
        Articles and, for a feed, one `InputError` per entry that cannot be read.

    Raises:
        FetchError: The URL cannot be fetched, or is neither an article page nor a feed.
    """
    page = fetcher.get(url)
    if kind_of(page) == "html":
        yield page_article(page)
        return
    for _, item in feed_articles(parse_feed(page), fetcher, origin=page.requested):
        yield item


def load_feed_file(path: Path, fetcher: Fetcher) -> Iterator[Article | InputError]:
    """Every entry of a feed saved as a file (entries with only a summary are fetched).

    Raises:
        InputError: The file cannot be read or is not a feed.
    """
    feed = _parse_feed(_read_bytes(path, fetcher.max_bytes), origin=str(path))
    for _, item in feed_articles(feed, fetcher, origin=str(path)):
        yield item


def _page_text(page: Page) -> bytes | str:
    """The page decoded with its HTTP charset when it names one, else its bytes (the HTML
    extractors then read the charset from the page's BOM or meta tags)."""
    if page.charset:
        try:
            return page.body.decode(page.charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return page.body
