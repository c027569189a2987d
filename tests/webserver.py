"""A local web server on 127.0.0.1 for the fetch, feed and ingest tests: never an outside address.

It serves the files of tests/fixtures/web (with `{base}` replaced by the server's own URL) and
the misbehaving responses the tests need: a 404, a redirect loop, a huge page (declared and
streamed), a non-HTML response and a response slower than any test timeout. Responses carry an
ETag and answer a matching If-None-Match with 304, like real feed servers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
HUGE_BYTES = 3_000_000
SLOW_SECONDS = 3.0
_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8"}


@dataclass
class Route:
    """One response: status, body, Content-Type and extra headers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalWeb:
    """The running server: its base URL, its routes (change them to change the site) and the
    requests it received (method, path, headers)."""

    base: str
    routes: dict[str, Route]
    requests: list[tuple[str, str, dict[str, str]]]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def serve_file(self, path: str, name: str, content_type: str | None = None) -> None:
        """Serve fixture `name` at `path` (with `{base}` filled in)."""
        text = (FIXTURES / name).read_text(encoding="utf-8").replace("{base}", self.base)
        kind = content_type or _TYPES.get(Path(name).suffix, "text/plain")
        self.routes[path] = Route(text.encode("utf-8"), content_type=kind)

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p == path)


class _Handler(BaseHTTPRequestHandler):
    web: ClassVar[LocalWeb]
    protocol_version = "HTTP/1.0"  # close-delimited bodies: a response may omit its length

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        web = self.web
        web.requests.append(("GET", self.path, dict(self.headers.items())))
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        if self.path == "/huge-stream.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no Content-Length: the body runs until the connection closes
            chunk = b"<p>" + b"x" * 65_536 + b"</p>"
            try:
                for _ in range(HUGE_BYTES // len(chunk) + 2):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its size cap
            return
        route = web.routes.get(self.path.split("#")[0])
        if route is None:
            route = Route(b"<html><body><h1>Not Found</h1></body></html>", status=404)
        etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        if route.status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        if route.status == 200:
            self.send_header("ETag", etag)
        for key, value in route.headers.items():
            self.send_header(key, value)
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(route.body)


def default_routes(web: LocalWeb) -> None:
    """The site every test starts with."""
    for name in sorted(FIXTURES.iterdir()):
        web.serve_file(f"/{name.name}", name.name)
    web.serve_file("/atom.xml", "atom.xml", "application/atom+xml")
    web.serve_file("/feed-as-text", "rss.xml", "text/plain")  # a feed served with a wrong type
    web.routes["/loop-a"] = Route(status=302, headers={"Location": "/loop-b"})
    web.routes["/loop-b"] = Route(status=302, headers={"Location": "/loop-a"})
    web.routes["/moved"] = Route(status=301, headers={"Location": "/story-1.html"})
    web.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    web.routes["/huge.html"] = Route(b"<p>" + b"y" * HUGE_BYTES + b"</p>")
    web.routes["/image.png"] = Route(b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png")
    web.routes["/data.json"] = Route(b'{"story": 1}', content_type="application/json")


@contextmanager
def local_web() -> Iterator[LocalWeb]:
    """Start the server on a free port of 127.0.0.1; stop it on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    web = LocalWeb(base=f"http://127.0.0.1:{server.server_address[1]}", routes={}, requests=[])
    default_routes(web)
    handler = type("Handler", (_Handler,), {"web": web})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield web
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a dead feed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"
