"""HTML pages: the visible text of the main article; title, source, URL and date from meta tags."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterator
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
