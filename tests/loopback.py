"""A real HTTP server on 127.0.0.1 that answers scripted replies and records requests.

Tests of HTTP clients (arXiv, LLM endpoints, Hugging Face, Hacker News,
webhooks) talk to it over a real socket, so timeouts, headers, retries and
status codes go through the same code as in production, and nothing leaves
the machine.

Usage (``replay_server`` in ``tests/conftest.py`` starts and stops one)::

    server.add("/rss/cs.LG", Reply(503, b"busy"), Reply(200, feed_bytes))
    server.add("/api/query", Reply.json({"ok": True}), method="POST")
    server.always("/health", Reply(200, b"ok"))       # when the queue is used up
    server.add("/slow", Reply(200, b"late", delay=5))  # client times out first
    server.add("/echo", lambda req: Reply.json(req.json()))

    client = SomeClient(base_url=server.url)
    ...
    assert [r.query["start"] for r in server.requests_to("/api/query")] == ["0", "100"]
    assert server.requests[0].headers["user-agent"].startswith("paperradar/")

Replies for a path are used in order, then the path's ``always`` reply, then
a 404 whose body says that nothing was scripted (so a test failure names the
missing path). Paths are matched without the query string, percent-decoded.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Reply:
    """One scripted answer. ``delay`` seconds pass before it is sent (to provoke timeouts)."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None, **kw) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}, **kw)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8", **kw) -> Reply:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type}, **kw)


@dataclass
class Request:
    """What the server received. Header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]  # last value of each parameter; all of them in ``query_all``
    query_all: dict[str, list[str]]
    raw_path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


Responder = Reply | Callable[[Request], Reply]


class ReplayServer:
    """Threaded loopback HTTP server answering scripted :class:`Reply` objects per path."""

    def __init__(self, host: str = "127.0.0.1"):
        self.requests: list[Request] = []
        self._queues: dict[tuple[str | None, str], deque[Responder]] = {}
        self._always: dict[tuple[str | None, str], Responder] = {}
        self._lock = threading.Lock()
        # Set on stop so replies that are still waiting out their delay give up.
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, *replies: Responder, method: str | None = None) -> ReplayServer:
        """Queue replies for ``path`` (any method unless ``method`` is given), used once each, in order."""
        with self._lock:
            self._queues.setdefault((method and method.upper(), path), deque()).extend(replies)
        return self

    def always(self, path: str, reply: Responder, method: str | None = None) -> ReplayServer:
        """The reply for ``path`` once its queue is used up."""
        with self._lock:
            self._always[(method and method.upper(), path)] = reply
        return self

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method.upper())]

    def pending(self) -> dict[str, int]:
        """Scripted replies not used yet, by path: a test can assert this is empty."""
        with self._lock:
            return {path: len(q) for (_, path), q in self._queues.items() if q}

    def start(self) -> ReplayServer:
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="replay-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            responder: Responder | None = None
            for key in ((request.method, request.path), (None, request.path)):
                if self._queues.get(key):
                    responder = self._queues[key].popleft()
                    break
            else:
                responder = self._always.get((request.method, request.path)) or self._always.get((None, request.path))
            scripted = sorted({p for (_, p) in [*self._queues, *self._always]})
        if responder is None:
            return Reply.text(
                f"ReplayServer: no reply scripted for {request.method} {request.path}; scripted paths: {scripted}",
                status=404,
            )
        return responder(request) if callable(responder) else responder


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query={k: v[-1] for k, v in query.items()},
                query_all=query,
                raw_path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self._read_body(),
            )
            reply = server._answer(request)
            if reply.delay and server._stopping.wait(reply.delay):
                return
            body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. timed out); that is what some tests want

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return Handler
