"""Followed feeds: a JSON list in the data dir, and their refresh (only new or changed entries).

`follow` checks that a URL is an RSS/Atom feed, saves it in `<data dir>/feeds.json` and ingests
its entries; `refresh` re-reads every followed feed. A refresh costs little when nothing changed:
the feed is fetched conditionally (If-None-Match / If-Modified-Since, so an unchanged feed is a
304), an entry whose fingerprint was seen before is not fetched again, and what does reach
`Assistant.ingest_articles` is skipped by content hash when it is already stored. A feed or an
entry that fails is one error line: nothing stored is lost, and a failed entry is retried on
the next refresh. `Refresher` runs `refresh` in a background thread (`assistant serve
--refresh 15m`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from assistant.errors import ConfigError, FetchError, InputError
from assistant.types import Article, IngestReport

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.fetch import Fetcher, Page

FEEDS_FILE = "feeds.json"
_T = TypeVar("_T")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(sec|min|hr|s|m|h|d)?", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


@dataclass(frozen=True)
class FollowedFeed:
    """A feed in feeds.json and what its last refresh saw."""

    url: str
    title: str | None = None
    added: str = ""
    refreshed: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    seen: dict[str, str] = field(default_factory=dict)  # entry key -> entry fingerprint


@dataclass(frozen=True)
class RefreshResult:
    """What refreshing one feed did: the articles added and updated (id, date, title), how
    many entries were unchanged, and one line per error."""

    url: str
    title: str | None
    added: tuple[tuple[str, str, str], ...] = ()
    updated: tuple[tuple[str, str, str], ...] = ()
    unchanged: int = 0
    errors: tuple[str, ...] = ()
    not_modified: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class UrlResult:
    """What adding a URL did: an article page was ingested, or a feed followed and read."""

    kind: Literal["article", "feed"]
    report: IngestReport | None = None
    feed: RefreshResult | None = None


class FeedList:
    """feeds.json: read and written whole, atomically, under a lock (the serve process's
    refresh thread, the UI and a `feeds` command may touch it at once)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, assistant: Assistant) -> FeedList:
        return cls(Path(assistant.settings.data_dir) / FEEDS_FILE)

    def load(self) -> list[FollowedFeed]:
        """The followed feeds, in the order they were added.

        Raises:
            ConfigError: feeds.json is not a list of feeds this version wrote.
        """
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path}: not a readable feed list ({exc})") from exc
        try:
            return [FollowedFeed(**item) for item in raw.get("feeds", [])]
        except (TypeError, AttributeError) as exc:
            raise ConfigError(f"{self.path}: not a feed list this version can read") from exc

    def get(self, url: str) -> FollowedFeed | None:
        return next((f for f in self.load() if f.url == url.strip()), None)

    def update(self, change: Callable[[list[FollowedFeed]], _T]) -> _T:
        """Apply `change` to the list (in place) and save it, as one locked step."""
        with self._locked():
            feeds = self.load()
            out = change(feeds)
            self._save(feeds)
            return out

    def add(self, feed: FollowedFeed) -> bool:
        """Follow `feed`; False when its URL is followed already."""

        def change(feeds: list[FollowedFeed]) -> bool:
            if any(f.url == feed.url for f in feeds):
                return False
            feeds.append(feed)
            return True

        return self.update(change)

    def remove(self, url: str) -> bool:
        """Stop following `url`; False when it was not followed."""

        def change(feeds: list[FollowedFeed]) -> bool:
            kept = [f for f in feeds if f.url != url.strip()]
            removed = len(kept) != len(feeds)
            feeds[:] = kept
            return removed

        return self.update(change)

    def put(self, feed: FollowedFeed) -> None:
        """Save a refreshed feed's state (unless it was removed meanwhile)."""

        def change(feeds: list[FollowedFeed]) -> None:
            feeds[:] = [feed if f.url == feed.url else f for f in feeds]

        self.update(change)

    def _save(self, feeds: list[FollowedFeed]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        data = {"version": 1, "feeds": [asdict(f) for f in feeds]}
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            try:
                import fcntl
            except ImportError:  # Windows: a single process is the supported case there
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def follow(assistant: Assistant, url: str) -> RefreshResult:
    """Follow the feed at `url` and ingest its entries.

    Raises:
        FetchError: `url` cannot be fetched, or is an article page rather than a feed.
        InputError: the feed cannot be read.
    """
    with assistant.fetcher() as fetcher:
        page = fetcher.get(url)
        return _follow_page(assistant, page, fetcher)


def follow_all(assistant: Assistant, urls: Sequence[str]) -> list[RefreshResult]:
    """`follow` each URL; one that cannot be followed gives a result with its error line."""
    results = []
    for url in urls:
        try:
            results.append(follow(assistant, url))
        except InputError as exc:
            results.append(RefreshResult(url=url.strip(), title=None, errors=(str(exc),)))
    return results


def add_url(assistant: Assistant, url: str) -> UrlResult:
    """Add what a URL holds: ingest an article page, or follow a feed and ingest its entries.

    Raises:
        FetchError: The URL cannot be fetched, or is neither an article page nor a feed.
        InputError: The feed cannot be read.
    """
    from assistant.web import kind_of, page_article

    with assistant.fetcher() as fetcher:
        page = fetcher.get(url)
        if kind_of(page) == "feed":
            return UrlResult(kind="feed", feed=_follow_page(assistant, page, fetcher))
        report = assistant.ingest_articles([page_article(page)])
        return UrlResult(kind="article", report=report)


def unfollow(assistant: Assistant, url: str) -> bool:
    """Stop following `url` (its articles stay stored); False when it was not followed."""
    return FeedList.of(assistant).remove(url)


def refresh(assistant: Assistant, urls: Sequence[str] | None = None) -> list[RefreshResult]:
    """Re-read the followed feeds (or those of `urls`) and ingest their new or changed entries.

    A feed that fails gives a result with one error line; the others are still refreshed.
    """
    feeds = FeedList.of(assistant)
    chosen = [f for f in feeds.load() if urls is None or f.url in urls]
    results = []
    with assistant.fetcher() as fetcher:
        for feed in chosen:
            result, state = _refresh_one(assistant, feed, fetcher)
            if state is not None:
                feeds.put(state)
            results.append(result)
    return results


def _follow_page(assistant: Assistant, page: Page, fetcher: Fetcher) -> RefreshResult:
    from assistant.web import kind_of, parse_feed

    if kind_of(page) != "feed":
        raise FetchError(
            f"{page.requested}: an article page, not a feed (ingest it with: assistant ingest URL)"
        )
    feed = parse_feed(page)  # a broken feed is refused before it is followed
    feeds = FeedList.of(assistant)
    followed = FollowedFeed(url=page.requested, title=feed.title, added=_now())
    if not feeds.add(followed):
        followed = feeds.get(page.requested) or followed
    result, state = _refresh_one(assistant, followed, fetcher, page=page)
    if state is not None:
        feeds.put(state)
    return result


def _refresh_one(
    assistant: Assistant, feed: FollowedFeed, fetcher: Fetcher, *, page: Page | None = None
) -> tuple[RefreshResult, FollowedFeed | None]:
    """Refresh one feed: its result, and its new state to save (None: keep the old one)."""
    from assistant.web import feed_articles, kind_of, parse_feed

    started = time.perf_counter()
    try:
        if page is None:
            page = fetcher.get(feed.url, headers=_conditional(feed))
        if page.not_modified:
            result = RefreshResult(
                feed.url, feed.title, unchanged=len(feed.seen), not_modified=True
            )
            return _timed(result, started), replace(feed, refreshed=_now())
        if kind_of(page) != "feed":
            raise FetchError(f"{feed.url}: no longer a feed (an HTML page)")
        parsed = parse_feed(page)
    except InputError as exc:
        return _timed(RefreshResult(feed.url, feed.title, errors=(str(exc),)), started), None
    fresh = tuple(e for e in parsed.entries if feed.seen.get(e.key) != e.fingerprint)
    seen = {e.key: e.fingerprint for e in parsed.entries if feed.seen.get(e.key) == e.fingerprint}
    built: dict[str, Article] = {}
    keys: dict[str, str] = {}
    errors: list[str] = []
    for entry, item in feed_articles(parsed, fetcher, origin=feed.url, entries=fresh):
        if isinstance(item, Article):
            built[item.id] = item
            keys[item.id] = entry.key
        else:
            errors.append(str(item))
    report = assistant.ingest_articles(list(built.values()))
    errors += report.errors
    stored = set(report.added) | set(report.updated) | set(report.unchanged)
    fingerprints = {e.key: e.fingerprint for e in fresh}
    seen.update({keys[aid]: fingerprints[keys[aid]] for aid in stored if aid in keys})

    def line(aid: str) -> tuple[str, str, str]:
        article = built[aid]
        return aid, article.published.isoformat() if article.published else "", article.title

    result = RefreshResult(
        url=feed.url,
        title=parsed.title or feed.title,
        added=tuple(line(a) for a in report.added),
        updated=tuple(line(a) for a in report.updated),
        unchanged=len(parsed.entries) - len(fresh) + len(report.unchanged),
        errors=tuple(errors),
    )
    state = replace(
        feed,
        title=parsed.title or feed.title,
        refreshed=_now(),
        # a feed with failed entries is fetched whole next time, so they are retried
        etag=None if errors else page.etag,
        last_modified=None if errors else page.last_modified,
        seen=seen,
    )
    return _timed(result, started), state


def _conditional(feed: FollowedFeed) -> dict[str, str]:
    if not feed.seen:
        return {}
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


def _timed(result: RefreshResult, started: float) -> RefreshResult:
    return replace(result, seconds=time.perf_counter() - started)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def render(results: Sequence[RefreshResult]) -> tuple[list[str], list[str]]:
    """Lines for people: (what each feed added, the error lines)."""
    lines: list[str] = []
    errors: list[str] = []
    for r in results:
        name = r.title or r.url
        if r.not_modified:
            lines.append(f"{name}: not modified since the last refresh ({r.seconds:.1f} s)")
            continue
        if r.errors and not (r.added or r.updated or r.unchanged):
            errors.extend(r.errors)
            continue
        lines.append(
            f"{name}: {len(r.added)} added, {len(r.updated)} updated, {r.unchanged} unchanged "
            f"({r.seconds:.1f} s)"
        )
        for sign, rows in (("+", r.added), ("~", r.updated)):
            for _, when, title in rows:
                lines.append(f"  {sign} {when or '----------'}  {title}")
        errors.extend(r.errors)
    return lines, errors


def result_json(result: RefreshResult) -> dict[str, Any]:
    """The `--json` shape of one feed's refresh."""
    data = asdict(result)
    for key in ("added", "updated"):
        data[key] = [{"id": a, "published": p or None, "title": t} for a, p, t in data[key]]
    data["seconds"] = round(result.seconds, 3)
    return data


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``15m``, ``1h``, ``1h30m`` or ``90`` (seconds).

    Raises:
        ConfigError: Not a duration, or zero.
    """
    compact = text.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    while pos < len(compact):
        match = _DURATION_RE.match(compact, pos)
        if not match:
            break
        total += float(match.group(1)) * _UNITS[match.group(2) or "s"]
        pos = match.end()
    if not compact or pos != len(compact) or total <= 0:
        raise ConfigError(f"{text!r} is not a duration (e.g. 30s, 15m, 1h)")
    return total


class Refresher:
    """Refreshes the followed feeds every `interval` seconds in a daemon thread, the first time
    right away; `log` receives each line (errors prefixed "error: ")."""

    def __init__(self, assistant: Assistant, interval: float, log: Callable[[str], None]) -> None:
        self.assistant = assistant
        self.interval = interval
        self.log = log
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-refresh", daemon=True)

    def start(self) -> Refresher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                lines, errors = render(refresh(self.assistant))
            except Exception as exc:  # the thread must outlive one bad round
                lines, errors = [], [f"feed refresh failed: {exc}"]
            for text in lines:
                self.log(text)
            for text in errors:
                self.log(f"error: {text}")
            self.rounds += 1
            self._stop.wait(self.interval)
