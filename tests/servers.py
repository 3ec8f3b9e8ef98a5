"""Real servers on 127.0.0.1 for tests: an HTTP server with programmable routes, a
webhook receiver, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler], None]


def respond(body: bytes | Iterator[bytes], *, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0) -> Handler:
    """A route answering ``body`` (bytes, or chunks written as they come)."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        req.send_response(status)
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        if isinstance(body, bytes):
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
            return
        req.end_headers()
        try:
            for chunk in body:
                req.wfile.write(chunk)
                req.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    return respond(b"", status=status, headers={"Location": location})


@dataclass
class HTTPServer:
    """``routes`` maps a path to a Handler; ``requests`` records (method, path, headers, body)."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, dict(self.headers), body))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    respond(b"not found", status=404)(self)
                else:
                    route(self)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def posted_json(self, path: str) -> list[Any]:
        return [json.loads(body) for method, p, _, body in self.requests if method == "POST" and p.split("?")[0] == path]


class SMTPServer:
    """aiosmtpd on a free port; ``messages`` holds every accepted email. ``refuse`` answers
    451 to that many DATA commands first (a mail server that is down for a while)."""

    def __init__(self, refuse: int = 0, password: str | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Message] = []
        self.refuse = refuse
        outer = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if outer.refuse > 0:
                    outer.refuse -= 1
                    return "451 Try again later"
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            return AuthResult(success=isinstance(data, LoginPassword) and data.password.decode() == password)

        self.port = free_port()
        auth = {"authenticator": authenticate, "auth_require_tls": False} if password else {}
        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def close(self) -> None:
        self._controller.stop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
