"""`assistant.fetch` against the local test server: limits, redirects and one-line errors."""

from __future__ import annotations

import time

import pytest

from assistant.errors import FetchError, InputError
from assistant.fetch import MAX_REDIRECTS, Fetcher, check_url, fetch, is_url, user_agent
from tests.webserver import HUGE_BYTES, LocalWeb, Route, dead_url


def _one_line(err: FetchError, url: str) -> str:
    message = str(err)
    assert "\n" not in message
    assert message.startswith(url)
    assert isinstance(err, InputError)  # an ingest reports it and carries on
    return message


def test_fetch_a_page_sends_a_user_agent(web: LocalWeb) -> None:
    page = fetch(web.url("/story-1.html"))
    assert page.status == 200
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert b"night ferry" in page.body
    assert page.etag
    _, _, headers = web.requests[-1]
    assert headers["User-Agent"] == user_agent()
    assert user_agent().startswith("assistant/")


def test_a_redirect_is_followed(web: LocalWeb) -> None:
    page = fetch(web.url("/moved"))
    assert page.url == web.url("/story-1.html")
    assert page.requested == web.url("/moved")


def test_redirect_loop(web: LocalWeb) -> None:
    url = web.url("/loop-a")
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert "redirect loop" in _one_line(info.value, url)
    assert web.hits("/loop-a") == 1 and web.hits("/loop-b") == 1


def test_redirects_are_bounded(web: LocalWeb) -> None:
    for i in range(MAX_REDIRECTS + 2):
        web.routes[f"/hop-{i}"] = Route(status=302, headers={"Location": f"/hop-{i + 1}"})
    web.serve_file(f"/hop-{MAX_REDIRECTS + 2}", "story-1.html")
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(web.url("/hop-0"))
    assert fetch(web.url("/hop-2")).status == 200  # five redirects are fine


def test_a_redirect_to_another_scheme_is_refused(web: LocalWeb) -> None:
    with pytest.raises(FetchError, match=r"refused URL.*only http and https"):
        fetch(web.url("/to-file"))


def test_404(web: LocalWeb) -> None:
    url = web.url("/no-such-story.html")
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert _one_line(info.value, url) == f"{url}: HTTP 404 Not Found"


def test_dead_host() -> None:
    url = dead_url()
    with pytest.raises(FetchError) as info:
        fetch(url, timeout=5)
    assert "connection refused" in _one_line(info.value, url)


def test_timeout(web: LocalWeb) -> None:
    url = web.url("/slow")
    started = time.perf_counter()
    with pytest.raises(FetchError) as info:
        fetch(url, timeout=0.5)
    assert time.perf_counter() - started < 2.5
    assert _one_line(info.value, url) == f"{url}: timed out after 0.5 s"


@pytest.mark.parametrize("path", ["/huge.html", "/huge-stream.html"])
def test_a_huge_page_is_cut_off_at_the_cap(web: LocalWeb, path: str) -> None:
    url = web.url(path)
    with pytest.raises(FetchError) as info:
        fetch(url, max_bytes=1_000_000)
    message = _one_line(info.value, url)
    assert "over the 1 MB limit" in message
    assert fetch(url, max_bytes=2 * HUGE_BYTES).status == 200


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:x()"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        check_url(url)


def test_a_conditional_get_gets_304(web: LocalWeb) -> None:
    with Fetcher() as fetcher:
        first = fetcher.get(web.url("/rss.xml"))
        again = fetcher.get(web.url("/rss.xml"), headers={"If-None-Match": first.etag or ""})
    assert again.not_modified and again.body == b""


def test_is_url() -> None:
    assert is_url("https://example.org/a") and is_url(" HTTP://x")
    assert not is_url("seeds/a.html") and not is_url("httpdocs/a.html")
