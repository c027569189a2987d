"""HTML pages: the main article text (trafilatura, a tree walker as fallback) and metadata."""

from __future__ import annotations

import codecs
import dataclasses
import html
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.loaders.encoding import _decode, _looks_binary
from assistant.loaders.metadata import _make_article, _to_str, parse_date
from assistant.types import Article

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


@dataclass(frozen=True)
class HtmlPage:
    """What an HTML page holds: its article text (paragraphs separated by blank lines), the
    metadata found, and which extractor produced the text."""

    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: date | None = None
    author: str | None = None
    extractor: str = "soup"  # "trafilatura", "soup" (the tree walker) or "tags" (tag stripping)


# trafilatura's own MIN_EXTRACTED_SIZE: below it, trafilatura itself calls an extraction
# unreliable, and the tree walker (which keeps every visible paragraph) is the safer choice.
MIN_TRAFILATURA_CHARS = 250


def extract_html(data: bytes | str, *, url: str | None = None, origin: str = "page") -> HtmlPage:
    """The article in an HTML page: trafilatura first, the BeautifulSoup tree walker as fallback.

    trafilatura drops boilerplate (menus, share bars, related links, comments) and finds the
    author and site name; its date comes from htmldate. When it finds nothing, or fewer than
    `MIN_TRAFILATURA_CHARS` characters, the text comes from the tree walker over the largest
    `<article>` (or `<main>`, or the body), which is how every HTML page was read before.
    Metadata the page states in meta tags wins over what trafilatura infers.

    Args:
        data: The page's bytes (the encoding is taken from its BOM or meta tags), or its
            text when the encoding is known (e.g. from an HTTP Content-Type header).
        url: Where the page was fetched from, if it was.
        origin: The file or URL, for error messages.

    Returns:
        The page; its `text` is empty when neither extractor finds any visible text.

    Raises:
        InputError: The page cannot be parsed and its bytes are not text.
    """
    soup, stated_title = _soup_extract(data, origin)
    found = _trafilatura_extract(data, url)
    if found is None or len(found.text) < MIN_TRAFILATURA_CHARS:
        return _without_title_line(
            dataclasses.replace(
                soup,
                author=soup.author or (found.author if found else None),
                published=soup.published or (found.published if found else None),
            )
        )
    page = HtmlPage(
        text=found.text,
        # trafilatura trims "Headline | Site" <title>s; a title stated in meta tags stays
        title=soup.title if stated_title else found.title or soup.title,
        source=soup.source or found.source,
        url=soup.url or found.url,
        published=soup.published or found.published,
        author=soup.author or found.author,
        extractor="trafilatura",
    )
    return _without_title_line(page)


def _without_title_line(page: HtmlPage) -> HtmlPage:
    paragraphs = page.text.split("\n\n")
    if page.title and paragraphs and paragraphs[0] == page.title:
        # the page's own <h1> repeats the title
        return dataclasses.replace(page, text="\n\n".join(paragraphs[1:]))
    return page


def _trafilatura_extract(data: bytes | str, url: str | None) -> HtmlPage | None:
    """trafilatura's reading of the page, or None when it finds no main text."""
    import trafilatura

    _quiet("trafilatura", "htmldate", "courlan", "justext")
    try:
        doc = trafilatura.bare_extraction(
            data,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # only dates the page states (meta tags, <time>, JSON-LD, URL): a date guessed
            # from the body text ("(c) 2024") would be worse than none
            date_extraction_params={"original_date": True, "extensive_search": False},
        )
    except Exception:  # a trafilatura bug must not lose the page: the tree walker reads it
        return None
    if doc is None or isinstance(doc, dict) or not doc.text:
        return None
    lines = (" ".join(line.split()) for line in doc.text.split("\n"))
    text = "\n\n".join(line for line in lines if line)
    if not text:
        return None
    return HtmlPage(
        text=text,
        title=_to_str(doc.title),
        source=_to_str(doc.sitename),
        url=_to_str(doc.url),
        published=parse_date(_to_str(doc.date)),
        author=_to_str(doc.author),
        extractor="trafilatura",
    )


def _quiet(*names: str) -> None:
    """Keep the extractors' log lines ("discarding data: None") off stderr unless the
    application configures logging: a NullHandler stops Python's last-resort printing."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


def _soup_extract(data: bytes | str, origin: str) -> tuple[HtmlPage, bool]:
    """The tree walker's reading of the page (tag stripping when the parser gives up), and
    whether the page states its title in an og:title or twitter:title meta tag."""
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(data, "lxml")
        title = _html_title(soup)
        stated_title = _html_meta(soup, "og:title", "twitter:title") is not None
        source = _html_meta(soup, "og:site_name", "application-name")
        url = _html_meta(soup, "og:url")
        if not url and (canonical := soup.find("link", rel="canonical")):
            url = _to_str(canonical.get("href"))
        time_tag = soup.find("time", datetime=True)
        published = parse_date(_html_meta(soup, *_PUBLISHED_META)) or (
            parse_date(_to_str(time_tag.get("datetime"))) if time_tag else None
        )
        author = _html_meta(soup, "author", "article:author_name", "parsely-author")
        articles = soup.find_all("article")
        root = (
            max(articles, key=lambda tag: len(tag.get_text()))
            if articles
            else soup.find("main") or soup.body or soup
        )
        paragraphs = _html_paragraphs(root)
    except RecursionError:
        text = data if isinstance(data, str) else _decode(origin, data)
        return HtmlPage(text="\n\n".join(_strip_tags(text)), extractor="tags"), False
    page = HtmlPage(
        text="\n\n".join(paragraphs),
        title=title,
        source=source,
        url=url,
        published=published,
        author=author,
        extractor="soup",
    )
    return page, stated_title


def html_fragment_text(fragment: str) -> str:
    """The visible text of an HTML fragment (a feed entry's content), paragraphs separated by
    blank lines; plain text comes back with its whitespace collapsed."""
    from bs4 import BeautifulSoup

    if "<" not in fragment:
        return "\n\n".join(" ".join(p.split()) for p in fragment.split("\n\n") if p.strip())
    try:
        return "\n\n".join(_html_paragraphs(BeautifulSoup(fragment, "lxml")))
    except RecursionError:
        return "\n\n".join(_strip_tags(fragment))


def _parse_html(path: Path, data: bytes) -> Article:
    has_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not has_bom and _looks_binary(data):
        raise InputError(f"{path}: looks like a binary file, not HTML")
    page = extract_html(data, origin=str(path))
    if not page.text.strip():
        raise InputError(f"{path}: HTML page has no visible text")
    return _make_article(
        path,
        article_id=path.stem,
        title=page.title,
        text=page.text,
        source=page.source,
        url=page.url,
        published=page.published,
        author=page.author,
    )
