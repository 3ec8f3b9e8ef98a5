"""A real HTTP server on 127.0.0.1 serving feeds and pages to tests.

    from tests.feedserver import FeedServer, conditional, drip, redirect, respond
    from tests.feedserver import feed_server  # noqa: F401  (the pytest fixture)

    def test_x(feed_server: FeedServer) -> None:
        feed_server.routes["/rss"] = rss_bytes                      # 200, Content-Length set
        feed_server.routes["/old"] = redirect("/rss")               # 302
        feed_server.routes["/slow"] = respond(body, delay=0.5, headers={"Content-Type": "text/xml"})
        feed_server.routes["/drip"] = drip(b"<rss>", every=0.2)     # never finishes
        feed_server.routes["/etag"] = conditional(body, etag='"v1"')  # 304 to If-None-Match
        url = feed_server.url + "/rss"
        feed_server.requests     # [Request(method, path, headers)], in arrival order
        feed_server.sent["/rss"]  # body bytes written on that path
        feed_server.max_active   # most requests handled at once
        feed_server.wait_idle()  # until every route has returned (e.g. noticed a hang-up)

A route is bytes, or a callable taking the ``BaseHTTPRequestHandler``; unknown paths get 404.
``respond`` also takes an iterable of chunks (streamed until it ends or the client goes away).
The query string is ignored when choosing the route. ``with FeedServer() as s:`` works too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


def respond(body: bytes | Iterable[bytes], *, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0) -> Route:
    """Answer ``status`` with ``body`` after ``delay`` seconds; chunks are sent as they come."""

    def route(req: BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        req.send_response(status)
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        chunks = [body] if isinstance(body, bytes) else body
        if isinstance(body, bytes):
            req.send_header("Content-Length", str(len(body)))
        else:
            req.send_header("Connection", "close")
            req.close_connection = True
        req.end_headers()
        try:
            for chunk in chunks:
                req.wfile.write(chunk)
                req.wfile.flush()
                req.server.owner.sent[req.path.split("?")[0]] += len(chunk)  # type: ignore[attr-defined]
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route


def redirect(location: str, status: int = 302) -> Route:
    return respond(b"", status=status, headers={"Location": location})


def drip(head: bytes = b'<?xml version="1.0"?><rss version="2.0"><channel>', *, every: float = 0.2, seconds: float = 60) -> Route:
    """``head``, then one byte every ``every`` seconds for ``seconds``: a response that never ends."""

    def chunks() -> Iterator[bytes]:
        yield head
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(every)
            yield b" "

    return lambda req: respond(chunks())(req)


def conditional(body: bytes, *, etag: str | None = None, last_modified: str | None = None, headers: dict[str, str] | None = None) -> Route:
    """``body`` with its validators; 304 when the request's If-None-Match or If-Modified-Since matches."""
    validators = {k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v}

    def route(req: BaseHTTPRequestHandler) -> None:
        fresh = (etag and req.headers.get("If-None-Match") == etag) or (last_modified and req.headers.get("If-Modified-Since") == last_modified)
        respond(b"" if fresh else body, status=304 if fresh else 200, headers={**(headers or {}), **validators})(req)

    return route


class FeedServer:
    def __init__(self, routes: dict[str, bytes | Route] | None = None) -> None:
        self.routes: dict[str, bytes | Route] = dict(routes or {})
        self.requests: list[Request] = []
        self.sent: Counter[str] = Counter()
        self.max_active = 0
        self._active = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with owner._lock:
                    owner.requests.append(Request(self.command, self.path, dict(self.headers)))
                    owner._active += 1
                    owner.max_active = max(owner.max_active, owner._active)
                try:
                    route = owner.routes.get(path)
                    if route is None:
                        respond(b"not found", status=404)(self)
                    elif isinstance(route, bytes):
                        respond(route)(self)
                    else:
                        route(self)
                finally:
                    with owner._lock:
                        owner._active -= 1

            do_HEAD = do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hangs up early is what many of these tests do

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, path: str) -> int:
        return sum(r.path.split("?")[0] == path for r in self.requests)

    def wait_idle(self, timeout: float = 5) -> bool:
        """Wait until no request is being handled (a route has seen its client hang up)."""
        end = time.monotonic() + timeout
        while self._active and time.monotonic() < end:
            time.sleep(0.01)
        return not self._active

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FeedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture()
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server
