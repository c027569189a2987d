"""Followed feeds (`assistant.feeds`) on the local web server, with a fake assistant whose store
skips unchanged articles by content hash as the real one does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from assistant import feeds
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError, FetchError, InputError
from assistant.fetch import Fetcher
from assistant.types import Article, IngestReport
from tests.webserver import LocalWeb, dead_url


class FakeAssistant:
    """What feeds.py uses of `Assistant`: settings, fetcher() and ingest_articles()."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(data_dir=data_dir)
        self.stored: dict[str, Article] = {}
        self.ingested: list[str] = []

    def fetcher(self) -> Fetcher:
        return Fetcher(timeout=5, max_bytes=1_000_000)

    def ingest_articles(self, items: Iterable[Article | AssistantError]) -> IngestReport:
        added, updated, unchanged, errors = [], [], [], []
        for item in items:
            if not isinstance(item, Article):
                errors.append(str(item))
                continue
            old = self.stored.get(item.id)
            if old is not None and old.sha256 == item.sha256:
                unchanged.append(item.id)
                continue
            (updated if old else added).append(item.id)
            self.stored[item.id] = item
            self.ingested.append(item.id)
        return IngestReport(added=added, updated=updated, unchanged=unchanged, errors=errors)


@pytest.fixture
def fake(tmp_path: Path) -> FakeAssistant:
    return FakeAssistant(tmp_path / "data")


def _follow(fake: FakeAssistant, url: str) -> feeds.RefreshResult:
    return feeds.follow(fake, url)  # type: ignore[arg-type]


def _refresh(fake: FakeAssistant) -> list[feeds.RefreshResult]:
    return feeds.refresh(fake)  # type: ignore[arg-type]


def test_follow_ingests_the_entries_and_saves_the_feed(fake: FakeAssistant, web: LocalWeb) -> None:
    result = _follow(fake, web.url("/summary.xml"))
    assert [title for _, _, title in result.added] == [
        "Harbour council approves night ferry to Marlow Island",
        "Rail strike called off after overnight talks",
        "City library opens robot-sorted archive",
    ]
    assert result.errors == () and result.unchanged == 0
    saved = json.loads((fake.settings.data_dir / "feeds.json").read_text(encoding="utf-8"))
    (feed,) = saved["feeds"]
    assert (feed["url"], feed["title"], len(feed["seen"])) == (
        web.url("/summary.xml"),
        "Bay Herald Briefs",
        3,
    )
    lines, errors = feeds.render([result])
    assert lines[0].startswith("Bay Herald Briefs: 3 added, 0 updated, 0 unchanged (")
    assert lines[1] == "  + 2025-11-03  Harbour council approves night ferry to Marlow Island"
    assert errors == []


def test_refresh_adds_only_what_is_new(fake: FakeAssistant, web: LocalWeb) -> None:
    _follow(fake, web.url("/summary.xml"))
    (again,) = _refresh(fake)
    assert again.not_modified and again.added == () and again.unchanged == 3
    web.serve_file("/summary.xml", "summary-4.xml")
    (fourth,) = _refresh(fake)
    assert [title for _, _, title in fourth.added] == ["Wind farm cable reaches Marlow Island"]
    assert (fourth.unchanged, fourth.updated) == (3, ())
    # the three pages seen before were not fetched again
    assert [web.hits(f"/story-{i}.html") for i in (1, 2, 3, 4)] == [1, 1, 1, 1]
    assert len(fake.ingested) == 4
    (last,) = _refresh(fake)
    assert last.not_modified


def test_a_changed_entry_is_updated(fake: FakeAssistant, web: LocalWeb) -> None:
    _follow(fake, web.url("/rss.xml"))
    route = web.routes["/rss.xml"]
    route.body = route.body.replace(b"6.5 percent", b"7 percent")
    (result,) = _refresh(fake)
    assert [title for _, _, title in result.updated] == [
        "Rail strike called off after overnight talks"
    ]
    assert result.added == () and result.unchanged == 2


def test_a_feed_that_dies_is_one_error_and_loses_nothing(
    fake: FakeAssistant, web: LocalWeb
) -> None:
    _follow(fake, web.url("/rss.xml"))
    before = feeds.FeedList.of(fake).load()  # type: ignore[arg-type]
    del web.routes["/rss.xml"]
    (result,) = _refresh(fake)
    assert result.errors == (f"{web.url('/rss.xml')}: HTTP 404 Not Found",)
    assert len(fake.stored) == 3
    assert feeds.FeedList.of(fake).load() == before  # type: ignore[arg-type]
    lines, errors = feeds.render([result])
    assert (lines, errors) == ([], list(result.errors))


def test_an_entry_that_fails_is_retried_next_time(fake: FakeAssistant, web: LocalWeb) -> None:
    page = web.routes.pop("/story-2.html")
    first = _follow(fake, web.url("/summary.xml"))
    assert len(first.added) == 2
    assert first.errors == (f"{web.url('/story-2.html')}: HTTP 404 Not Found",)
    web.routes["/story-2.html"] = page
    (second,) = _refresh(fake)
    assert not second.not_modified  # the feed is re-read whole while an entry is missing
    assert [title for _, _, title in second.added] == [
        "Rail strike called off after overnight talks"
    ]


def test_what_cannot_be_followed(fake: FakeAssistant, web: LocalWeb) -> None:
    with pytest.raises(FetchError, match="an article page, not a feed"):
        _follow(fake, web.url("/story-1.html"))
    with pytest.raises(InputError, match="not a readable RSS or Atom feed"):
        _follow(fake, web.url("/broken.xml"))
    url = dead_url()
    (dead,) = feeds.follow_all(fake, [url])  # type: ignore[arg-type]
    assert dead.errors == (f"{url}: cannot fetch (connection refused)",)
    assert feeds.FeedList.of(fake).load() == []  # type: ignore[arg-type]


def test_unfollow_keeps_the_articles(fake: FakeAssistant, web: LocalWeb) -> None:
    _follow(fake, web.url("/atom.xml"))
    assert feeds.unfollow(fake, web.url("/atom.xml"))  # type: ignore[arg-type]
    assert not feeds.unfollow(fake, web.url("/atom.xml"))  # type: ignore[arg-type]
    assert len(fake.stored) == 2 and _refresh(fake) == []


def test_add_url_ingests_an_article_or_follows_a_feed(fake: FakeAssistant, web: LocalWeb) -> None:
    page = feeds.add_url(fake, web.url("/story-4.html"))  # type: ignore[arg-type]
    assert page.kind == "article" and page.report is not None and len(page.report.added) == 1
    feed = feeds.add_url(fake, web.url("/atom.xml"))  # type: ignore[arg-type]
    assert feed.kind == "feed" and feed.feed is not None
    assert [u.url for u in feeds.FeedList.of(fake).load()] == [web.url("/atom.xml")]  # type: ignore[arg-type]
    # story-4 reached again through the Atom feed is another URL, so another article
    assert len(fake.stored) == 3


def test_a_damaged_feed_list_is_one_line(fake: FakeAssistant) -> None:
    path = fake.settings.data_dir / "feeds.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        feeds.FeedList(path).load()
    assert str(info.value).startswith(f"{path}: not a readable feed list")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("90", 90), ("2 min", 120)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert feeds.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "soon", "15x", "m15", "-5m"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a duration"):
        feeds.parse_duration(text)


def test_the_refresher_runs_in_the_background(fake: FakeAssistant, web: LocalWeb) -> None:
    _follow(fake, web.url("/summary.xml"))
    web.serve_file("/summary.xml", "summary-4.xml")
    lines: list[str] = []
    refresher = feeds.Refresher(fake, 0.05, lines.append).start()  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while refresher.rounds < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    refresher.stop()
    assert refresher.rounds >= 2
    assert lines[0].startswith("Bay Herald Briefs: 1 added, 0 updated, 3 unchanged")
    assert lines[1] == "  + 2025-11-06  Wind farm cable reaches Marlow Island"
    assert lines[2].startswith("Bay Herald Briefs: not modified since the last refresh")


def test_the_pages_url_box_adds_an_article_or_follows_a_feed(
    fake: FakeAssistant, web: LocalWeb
) -> None:
    from assistant.ui.app import _ingest_url

    page = _ingest_url(fake, web.url("/story-1.html"))  # type: ignore[arg-type]
    assert f"✓ {web.url('/story-1.html')}: 1 added (" in page
    feed = _ingest_url(fake, web.url("/summary.xml"))  # type: ignore[arg-type]
    assert "✓ following Bay Herald Briefs: 2 added, 0 updated, 1 unchanged" in feed
    gone = _ingest_url(fake, web.url("/gone.html"))  # type: ignore[arg-type]
    assert gone == (
        f'<ul class="upload-report"><li class="upload-error">✗ {web.url("/gone.html")}: '
        "HTTP 404 Not Found</li></ul>"
    )


def test_serve_refuses_a_bad_refresh_interval_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    assert main(["--data-dir", str(tmp_path), "serve", "--refresh", "soon"]) == 1
    assert capsys.readouterr().err == "error: 'soon' is not a duration (e.g. 30s, 15m, 1h)\n"


def test_feeds_list_and_remove_need_no_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    feeds.FeedList(tmp_path / "feeds.json").add(feeds.FollowedFeed(url="http://127.0.0.1:9/f"))
    assert main(["--data-dir", str(tmp_path), "feeds", "list"]) == 0
    assert capsys.readouterr().out == "http://127.0.0.1:9/f  -  (0 entries, never refreshed)\n"
    assert main(["--data-dir", str(tmp_path), "feeds", "remove", "http://127.0.0.1:9/f"]) == 0
    assert main(["--data-dir", str(tmp_path), "feeds", "remove", "http://127.0.0.1:9/f"]) == 1
    assert capsys.readouterr().err == "error: http://127.0.0.1:9/f is not a followed feed\n"
