"""Fetching one URL over HTTP(S), defensively: the only module that talks to the web.

Every request has a timeout (also for the whole download, so a server that drips bytes cannot
hold it), a size cap, a User-Agent naming the assistant, at most `MAX_REDIRECTS` redirects (each
one checked: http and https only, no loops), and every failure is one `FetchError` line that
starts with the URL: a dead host, a 404, a redirect loop, a huge page, a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from assistant.errors import FetchError

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_BYTES = 10_000_000
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def user_agent() -> str:
    """The User-Agent every request sends: the assistant, its version and what it does."""
    try:
        version = metadata.version("assistant")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"assistant/{version} (cited news question answering; fetches articles and feeds)"


@dataclass(frozen=True)
class Page:
    """A fetched response: the URL it finally came from, its media type, charset and body."""

    url: str
    requested: str
    status: int
    content_type: str = ""
    charset: str | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server answered 304 to a conditional request: nothing changed."""
        return self.status == 304


def check_url(url: str) -> str:
    """`url` without surrounding spaces when it is an absolute http(s) URL.

    Raises:
        FetchError: another scheme (file:, ftp:, javascript:...) or no host.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError(f"{url}: not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"{url}: only http and https URLs can be fetched")
    if not parts.hostname:
        raise FetchError(f"{url}: the URL has no host")
    return url


def is_url(text: str) -> bool:
    """Whether `text` looks like an http(s) URL rather than a file path."""
    return text.strip().lower().startswith(("http://", "https://"))


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
) -> Page:
    """GET `url`, following at most `MAX_REDIRECTS` redirects, reading at most `max_bytes`.

    Args:
        url: An http or https URL.
        timeout: Seconds for connecting, for each read, and for the whole download.
        max_bytes: Largest body accepted (after decompression).
        headers: Extra request headers (e.g. If-None-Match for a conditional GET).
        client: An httpx client to reuse (it must not follow redirects itself).

    Returns:
        The page; a 304 answer to a conditional request is returned with an empty body.

    Raises:
        FetchError: a bad URL, a connection failure, a timeout, an HTTP error status, a
            redirect loop or too many redirects, or a body over `max_bytes`.
    """
    import httpx

    requested = check_url(url)
    own = client is None
    client = client or httpx.Client(follow_redirects=False)
    deadline = time.monotonic() + timeout
    send = {"User-Agent": user_agent(), "Accept": _ACCEPT, **(headers or {})}
    chain: list[str] = [requested]
    try:
        while True:
            page = _get(client, chain[-1], send, timeout, deadline, max_bytes, requested)
            if isinstance(page, Page):
                return page
            nxt = page
            if nxt in chain:
                loop = " -> ".join([*chain[chain.index(nxt) :], nxt])
                raise FetchError(f"{requested}: redirect loop ({loop})")
            if len(chain) > MAX_REDIRECTS:
                raise FetchError(f"{requested}: more than {MAX_REDIRECTS} redirects")
            chain.append(nxt)
    except httpx.TimeoutException as exc:
        raise FetchError(f"{requested}: timed out after {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{requested}: cannot fetch ({_reason(exc)})") from exc
    finally:
        if own:
            client.close()


class Fetcher:
    """One httpx client reused for many fetches (a feed and its entries' pages).

    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        import httpx

        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = httpx.Client(follow_redirects=False)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Page:
        """`fetch(url)` with this fetcher's limits and client."""
        return fetch(
            url,
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            headers=headers,
            client=self._client,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)


def _get(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    deadline: float,
    max_bytes: int,
    requested: str,
) -> Page | str:
    """One request: the page, or the absolute URL a redirect points to."""
    remaining = max(0.1, deadline - time.monotonic())
    with client.stream("GET", url, headers=dict(headers), timeout=min(timeout, remaining)) as resp:
        if resp.status_code in _REDIRECTS:
            location = resp.headers.get("location")
            if not location:
                raise FetchError(f"{requested}: HTTP {resp.status_code} redirect without a target")
            target = urljoin(url, location.strip())
            try:
                return check_url(target)
            except FetchError as exc:
                raise FetchError(f"{requested}: redirects to a refused URL ({exc})") from exc
        if resp.status_code >= 400:
            phrase = resp.reason_phrase or "error"
            raise FetchError(f"{requested}: HTTP {resp.status_code} {phrase}")
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(requested, int(declared), max_bytes)
        body = bytearray()
        if resp.status_code != 304:
            for piece in resp.iter_bytes():
                body += piece
                if len(body) > max_bytes:
                    raise _too_large(requested, len(body), max_bytes, at_least=True)
                if time.monotonic() > deadline:
                    raise FetchError(f"{requested}: timed out after {timeout:g} s")
        media, charset = _content_type(resp.headers.get("content-type", ""))
        return Page(
            url=str(resp.url),
            requested=requested,
            status=resp.status_code,
            content_type=media,
            charset=charset,
            body=bytes(body),
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
        )


def _content_type(header: str) -> tuple[str, str | None]:
    """`text/html; charset=UTF-8` -> ("text/html", "utf-8")."""
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media.strip().lower(), charset


def _too_large(url: str, size: int, max_bytes: int, *, at_least: bool = False) -> FetchError:
    more = "more than " if at_least else ""
    return FetchError(
        f"{url}: the response is {more}{size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB "
        "limit (ASSISTANT_MAX_FILE_MB)"
    )


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host"
    return text[:200]
