"""A scriptable HTTP server on 127.0.0.1 for the link-checker tests.

Routes map a path to a handler `(request) -> None`; the helpers below build
the usual ones (a status, a redirect, a slow or endless body...). The server
counts connections and records every request and every body byte it sent, so tests can
assert on what the checker really did.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[["Request"], None]


class Request(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LinkServer

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path = self.path.split("?")[0]
        self.server.record(self.command, path, dict(self.headers))
        handler = self.server.routes.get(path, reply(404))
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        """A complete response; HEAD gets the headers only."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.write(body)

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.server.sent(self.path.split("?")[0], len(data))

    def log_message(self, format: str, *args: object) -> None:
        pass


class LinkServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Request)
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self.bytes_sent: Counter[str] = Counter()
        self.connections = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def __enter__(self) -> LinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.connections += 1
        super().process_request(request, client_address)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((method, path, headers))

    def sent(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_sent[path] += count

    def hits(self, path: str | None = None) -> list[str]:
        """Methods of the requests made (to `path`), in order."""
        with self._lock:
            return [method for method, p, _ in self.requests if path is None or p == path]


def reply(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Handler:
    headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
    return lambda request: request.send(status, body, headers)


def redirect(status: int, location: str) -> Handler:
    return reply(status, headers={"Location": location})


def page(*ids: str) -> Handler:
    """An HTML page with an element for each id."""
    body = "".join(f'<h2 id="{anchor}">Section</h2>\n' for anchor in ids)
    return reply(200, f"<!doctype html><title>Page</title>{body}".encode())


def by_method(**handlers: Handler) -> Handler:
    """A different handler per method, e.g. by_method(HEAD=reply(405), GET=reply(200))."""
    return lambda request: handlers[request.command](request)


def sequence(*handlers: Handler) -> Handler:
    """The n-th request gets the n-th handler; the last one repeats."""
    calls = itertools.count()

    def handle(request: Request) -> None:
        handlers[min(next(calls), len(handlers) - 1)](request)

    return handle


def slow(seconds: float, then: Handler) -> Handler:
    def handle(request: Request) -> None:
        time.sleep(seconds)
        then(request)

    return handle


def endless(prefix: bytes = b"", chunk: bytes = b"<p>filler</p>\n" * 4096, limit: int = 50 * 2**20) -> Handler:
    """An HTML body streamed until `limit` bytes or until the client goes away."""

    def handle(request: Request) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Connection", "close")
        request.end_headers()
        request.close_connection = True
        if request.command == "HEAD":
            return
        request.write(prefix)
        sent = len(prefix)
        while sent < limit:
            request.write(chunk)
            sent += len(chunk)
            time.sleep(0.002)

    return handle


class InFlight:
    """A handler that holds each request for `seconds` and records the peak concurrency."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.current = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> None:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        time.sleep(self.seconds)
        with self._lock:
            self.current -= 1
        request.send(200)
