"""Feeds and URLs -> Articles (`assistant.loaders.feed`, `assistant.web`) on the local server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.errors import FetchError, InputError
from assistant.fetch import Fetcher
from assistant.loaders.feed import looks_like_feed, parse_feed
from assistant.types import Article
from assistant.web import entry_needs_page, load_feed_file, load_url, url_article_id
from tests.webserver import FIXTURES, LocalWeb


def _articles(items: list[Article | InputError]) -> list[Article]:
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert errors == []
    return [i for i in items if isinstance(i, Article)]


def test_url_article_id_is_stable_and_readable() -> None:
    a = url_article_id("https://news.example/2025/10/24/rare-earths.html")
    assert a.startswith("rare-earths-") and len(a) == len("rare-earths-") + 8
    assert a == url_article_id("HTTPS://NEWS.EXAMPLE/2025/10/24/rare-earths.html#top")
    assert a != url_article_id("https://news.example/2025/10/25/rare-earths.html")
    assert url_article_id("https://news.example/").startswith("news-example-")


def test_looks_like_feed() -> None:
    assert looks_like_feed((FIXTURES / "rss.xml").read_bytes())
    assert looks_like_feed((FIXTURES / "atom.xml").read_bytes())
    rdf = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- x -->\n<rdf:RDF xmlns:rdf="x">'
    assert looks_like_feed(rdf)
    assert not looks_like_feed((FIXTURES / "story-1.html").read_bytes())
    assert not looks_like_feed(b'<?xml version="1.0"?><svg/>')


def test_parse_rss_and_atom() -> None:
    rss = parse_feed((FIXTURES / "rss.xml").read_bytes(), origin="rss.xml")
    assert rss.title == "Bay Herald"
    first = rss.entries[0]
    assert first.title == "Harbour council approves night ferry to Marlow Island"
    assert (first.key, first.published, first.author) == (
        "bay-herald-story-1",
        date(2025, 11, 3),
        "Ana Ribeiro",
    )
    assert first.content.startswith("The Marlow Bay harbour council")
    assert not entry_needs_page(first)
    atom = parse_feed((FIXTURES / "atom.xml").read_bytes(), origin="atom.xml")
    assert atom.title == "Island Gazette" and len(atom.entries) == 2
    assert atom.entries[1].published == date(2025, 11, 6)
    assert not entry_needs_page(atom.entries[1])
    brief = parse_feed((FIXTURES / "summary.xml").read_bytes(), origin="summary.xml")
    assert all(entry_needs_page(e) for e in brief.entries)


def test_a_changed_entry_changes_its_fingerprint() -> None:
    data = (FIXTURES / "rss.xml").read_bytes()
    before = parse_feed(data, origin="a").entries[1]
    after = parse_feed(data.replace(b"6.5 percent", b"7 percent"), origin="a").entries[1]
    assert before.key == after.key and before.fingerprint != after.fingerprint


def test_a_broken_feed_is_one_line() -> None:
    with pytest.raises(InputError) as info:
        parse_feed((FIXTURES / "broken.xml").read_bytes(), origin="broken.xml")
    message = str(info.value)
    assert message.startswith("broken.xml: ") and "\n" not in message


def test_ingest_an_article_url(web: LocalWeb) -> None:
    with Fetcher() as fetcher:
        (article,) = _articles(list(load_url(web.url("/story-2.html"), fetcher)))
    assert article.title == "Rail strike called off after overnight talks"
    assert article.text.startswith("A national rail strike planned for Thursday")
    assert "Comments" not in article.text
    assert (article.source, article.published, article.author) == (
        "Bay Herald",
        date(2025, 11, 4),
        "Peter Haas",
    )
    assert article.url == web.url("/story-2.html") and article.path is None
    assert article.id == url_article_id(web.url("/story-2.html"))


def test_a_full_text_feed_is_read_without_fetching_pages(web: LocalWeb) -> None:
    with Fetcher() as fetcher:
        articles = _articles(list(load_url(web.url("/rss.xml"), fetcher)))
    assert [a.source for a in articles] == ["Bay Herald"] * 3
    assert [a.published for a in articles] == [date(2025, 11, d) for d in (3, 4, 5)]
    assert articles[0].url == web.url("/story-1.html")
    assert web.hits("/story-1.html") == 0


def test_a_summary_only_feed_fetches_each_page(web: LocalWeb) -> None:
    with Fetcher() as fetcher:
        articles = _articles(list(load_url(web.url("/summary.xml"), fetcher)))
    assert len(articles) == 3 and all(web.hits(f"/story-{i}.html") == 1 for i in (1, 2, 3))
    assert [a.source for a in articles] == ["Bay Herald Briefs"] * 3  # the feed's title
    assert articles[2].text.startswith("The central library opened its new underground archive")
    assert articles[2].text.endswith("open until midnight from February.")
    # the same story by URL or through a feed is the same article
    with Fetcher() as fetcher:
        (direct,) = _articles(list(load_url(web.url("/story-3.html"), fetcher)))
    assert (direct.id, direct.sha256) == (articles[2].id, articles[2].sha256)


def test_atom_and_a_feed_served_as_text(web: LocalWeb) -> None:
    with Fetcher() as fetcher:
        atom = _articles(list(load_url(web.url("/atom.xml"), fetcher)))
        as_text = _articles(list(load_url(web.url("/feed-as-text"), fetcher)))
    assert [a.source for a in atom] == ["Island Gazette"] * 2
    assert atom[1].author == "Ana Ribeiro"
    assert len(as_text) == 3


def test_an_entry_whose_page_is_gone_is_one_error_the_others_load(web: LocalWeb) -> None:
    del web.routes["/story-2.html"]
    with Fetcher() as fetcher:
        items = list(load_url(web.url("/summary.xml"), fetcher))
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert errors == [f"{web.url('/story-2.html')}: HTTP 404 Not Found"]
    assert sum(isinstance(i, Article) for i in items) == 2


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/front-page.html", "not an article page (only 37 characters of text)"),
        ("/image.png", "not an HTML page or an RSS/Atom feed (image/png)"),
        ("/data.json", "not an HTML page or an RSS/Atom feed (application/json)"),
        ("/gone.html", "HTTP 404 Not Found"),
    ],
)
def test_what_cannot_be_ingested_is_one_line(web: LocalWeb, path: str, expected: str) -> None:
    url = web.url(path)
    with Fetcher() as fetcher, pytest.raises(FetchError) as info:
        list(load_url(url, fetcher))
    assert str(info.value) == f"{url}: {expected}"


def test_a_broken_feed_url_is_one_line(web: LocalWeb) -> None:
    url = web.url("/broken.xml")
    with Fetcher() as fetcher, pytest.raises(InputError) as info:
        list(load_url(url, fetcher))
    message = str(info.value)
    assert message.startswith(f"{url}: not a readable RSS or Atom feed (") and "\n" not in message


def test_a_feed_file_with_summaries_fetches_the_pages(web: LocalWeb, tmp_path: Path) -> None:
    feed = tmp_path / "briefs.rss"
    feed.write_text(
        (FIXTURES / "summary.xml").read_text(encoding="utf-8").replace("{base}", web.base),
        encoding="utf-8",
    )
    with Fetcher() as fetcher:
        articles = _articles(list(load_feed_file(feed, fetcher)))
    assert [a.published for a in articles] == [date(2025, 11, d) for d in (3, 4, 5)]
