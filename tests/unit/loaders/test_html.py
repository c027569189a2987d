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


STORY = Path(__file__).resolve().parents[2] / "fixtures" / "web" / "story-1.html"


def test_trafilatura_reads_a_news_page_without_its_boilerplate(tmp_path: Path) -> None:
    from assistant.loaders.html import extract_html

    page = extract_html(STORY.read_bytes())
    assert page.extractor == "trafilatura"
    assert page.text.startswith("The Marlow Bay harbour council voted 7 to 2 on Monday")
    assert page.text.endswith("closed since a storm in March.")
    assert page.text.count("\n\n") == 4  # five paragraphs
    for boilerplate in ("cookies", "Share this story", "morning briefing", "Comments", "©"):
        assert boilerplate not in page.text
    assert page.title == "Harbour council approves night ferry to Marlow Island"  # no "| Site"
    assert (page.author, page.source, page.published) == (
        "Ana Ribeiro",
        "Bay Herald",
        date(2025, 11, 3),
    )
    article = load_one(write(tmp_path / "ferry.html", STORY.read_bytes()))
    assert (article.text, article.author) == (page.text, "Ana Ribeiro")


def test_the_date_can_come_from_json_ld_through_htmldate(tmp_path: Path) -> None:
    page = STORY.read_text(encoding="utf-8").replace('<time datetime="2025-11-03">', "<time>")
    article = load_one(write(tmp_path / "ferry.html", page))
    assert article.published == date(2025, 11, 3)


def test_offsets_point_into_the_extracted_text(tmp_path: Path) -> None:
    from assistant.chunking import chunk_article

    article = load_one(write(tmp_path / "ferry.html", STORY.read_bytes()))
    chunks = chunk_article(article, size=300, overlap=60)
    assert len(chunks) > 2
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text


def test_a_short_page_is_read_by_the_tree_walker() -> None:
    from assistant.loaders.html import extract_html

    page = extract_html(HTML_PAGE.encode())
    assert page.extractor == "soup"
    assert "Short teaser." not in page.text  # the walker reads the largest <article> only


def test_a_trafilatura_failure_falls_back_to_the_tree_walker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trafilatura

    from assistant.loaders.html import extract_html

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)
    page = extract_html(STORY.read_bytes())
    assert page.extractor == "soup"
    assert "Comments (3)" in page.text  # what the walker keeps and trafilatura drops
    assert page.author == "Ana Ribeiro"  # from the meta tag
