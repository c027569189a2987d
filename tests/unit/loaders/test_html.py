"""Unit tests for the HTML loader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.loaders import (
    load_file,
)
from tests.unit.loaders.helpers import assert_one_line_error, load_one, write

HTML_PAGE = """<!doctype html>
<html><head>
<title>Ignored title | Site</title>
<meta property="og:title" content="Storm hits the coast">
<meta property="og:site_name" content="Daily Planet">
<meta property="og:url" content="https://www.dailyplanet.com/storm">
<meta property="article:published_time" content="2024-08-02T06:30:00Z">
<style>p { color: red }</style>
<script>var secret = "do not index";</script>
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<header>Site header</header>
<article>
  <h1>Storm hits the coast</h1>
  <p>The storm   made
     landfall on <b>Friday</b>, officials said.</p>
  <p>Thousands&nbsp;lost power.<br>Schools closed.</p>
  <aside>Related: other storms</aside>
  <form><input name="email">Subscribe</form>
  <ul><li>Item one</li><li>Item two</li></ul>
  <!-- a comment -->
</article>
<article><p>Short teaser.</p></article>
<footer>© Daily Planet</footer>
</body></html>
"""


def test_html_article(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "storm.html", HTML_PAGE))
    assert article.title == "Storm hits the coast"
    assert article.source == "Daily Planet"
    assert article.url == "https://www.dailyplanet.com/storm"
    assert article.published == date(2024, 8, 2)
    assert article.text == (
        "The storm made landfall on Friday, officials said.\n\n"
        "Thousands lost power.\n\nSchools closed.\n\nItem one\n\nItem two"
    )


def test_html_without_metadata_falls_back(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Plain page</title></head><body><main>"
        "<time datetime='2023-01-05'>Jan 5</time><div>Intro <span>text</span><p>Para</p>tail"
        "</div></main></body></html>"
    )
    article = load_one(write(tmp_path / "plain.htm", page))
    assert article.title == "Plain page"
    assert article.source is None
    assert article.published == date(2023, 1, 5)
    assert article.text == "Jan 5\n\nIntro text\n\nPara\n\ntail"


def test_html_deeply_nested_does_not_crash(tmp_path: Path) -> None:
    depth = 100_000
    page = "<html><body>" + "<div>" * depth + "Deep text." + "</div>" * depth + "</body></html>"
    article = load_one(write(tmp_path / "deep.html", page))
    assert article.text == "Deep text."


def test_html_without_text(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.html", "<html><body><script>x()</script></body></html>")
    with pytest.raises(InputError, match="no visible text") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


def test_html_recursion_error_falls_back_to_tag_stripping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bs4

    class FakeSoup:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(bs4, "BeautifulSoup", FakeSoup)
    page = "<html><script>x()</script><p>First  para.</p><p>Second &amp; last.</p></html>"
    article = load_one(write(tmp_path / "odd.html", page))
    assert article.text == "First para.\n\nSecond & last."
    assert article.title == "First para."


def test_html_in_utf16(tmp_path: Path) -> None:
    page = "<html><head><title>Été</title></head><body><p>Chaleur record.</p></body></html>"
    article = load_one(write(tmp_path / "u16.html", page.encode("utf-16")))
    assert (article.title, article.text) == ("Été", "Chaleur record.")
