"""URLs and feeds end to end: the local web server (127.0.0.1 only), real MiniLM embeddings and
Chroma. A feed of three articles is ingested by URL, refreshing adds nothing, a fourth entry
is added by exactly one refresh; the CLI prints what each step did."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant import feeds
from assistant.cli import main
from tests.webserver import LocalWeb

pytestmark = pytest.mark.integration


def test_a_feed_ingested_by_url_then_refreshed(make_assistant, web: LocalWeb) -> None:  # type: ignore[no-untyped-def]
    a = make_assistant()
    url = web.url("/summary.xml")
    timings: dict[str, float] = {}
    a.embed(["warm up"])  # time the ingest, not the model load
    a.articles()  # and not the store's creation

    started = time.perf_counter()
    report = a.ingest([url])
    timings["ingest by URL (3 entries, 3 pages)"] = time.perf_counter() - started
    assert report.errors == [] and len(report.added) == 3

    started = time.perf_counter()
    (followed,) = feeds.follow_all(a, [url])
    timings["feeds add (3 already stored)"] = time.perf_counter() - started
    assert (followed.added, followed.updated, followed.unchanged) == ((), (), 3)

    started = time.perf_counter()
    (again,) = feeds.refresh(a)
    timings["refresh, nothing new (304)"] = time.perf_counter() - started
    assert again.not_modified and again.added == ()

    web.serve_file("/summary.xml", "summary-4.xml")
    started = time.perf_counter()
    (fourth,) = feeds.refresh(a)
    timings["refresh, a fourth entry"] = time.perf_counter() - started
    assert [t for _, _, t in fourth.added] == ["Wind farm cable reaches Marlow Island"]
    assert (fourth.updated, fourth.unchanged, fourth.errors) == ((), 3, ())
    assert len(a.articles()) == 4

    # the new article is searchable, and its chunks point into its text
    hits = a.retrieve("How long is the undersea cable to Marlow Island?", k=3)
    top = hits[0]
    assert top.source == "Bay Herald Briefs" and "38-kilometre" in top.chunk.text
    article = a.article(top.chunk.article_id)
    assert article.text[top.chunk.start : top.chunk.end] == top.chunk.text
    assert article.url == web.url("/story-4.html") and article.author == "Ana Ribeiro"

    # a feed that dies is one error line; nothing stored is lost
    del web.routes["/summary.xml"]
    (dead,) = feeds.refresh(a)
    assert dead.errors == (f"{url}: HTTP 404 Not Found",)
    assert len(a.articles()) == 4
    print("\nrefresh timings: " + json.dumps({k: round(v, 3) for k, v in timings.items()}))


@pytest.mark.slow
def test_the_cli_ingests_urls_and_follows_feeds(
    tmp_path: Path, web: LocalWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "store")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", data, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("ingest", web.url("/story-1.html"), web.url("/gone.html"))
    assert code == 1 and out.startswith("1 added, 0 updated, 0 unchanged;")
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {web.url('/gone.html')}: HTTP 404 Not Found"]
    code, out, err = run("feeds", "add", web.url("/summary.xml"))
    assert code == 0, err
    assert out.splitlines()[0].startswith("Bay Herald Briefs: 2 added, 0 updated, 1 unchanged")
    code, out, _ = run("feeds", "list")
    assert out.startswith(f"{web.url('/summary.xml')}  Bay Herald Briefs  (3 entries, refreshed ")
    web.serve_file("/summary.xml", "summary-4.xml")
    code, out, _ = run("feeds", "refresh", "--json")
    (result,) = json.loads(out)
    assert [a["title"] for a in result["added"]] == ["Wind farm cable reaches Marlow Island"]
    code, out, err = run("feeds", "remove", web.url("/summary.xml"))
    assert code == 0 and run("feeds", "list")[1] == ""
    code, _, err = run("feeds", "add", web.url("/story-2.html"))
    assert code == 1 and "an article page, not a feed" in err
