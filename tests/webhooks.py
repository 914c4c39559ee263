"""A real local HTTP server standing in for Slack's and Teams' webhooks (issue 16's tests).

It records every request (method, path, headers, JSON body) and answers from a script:
``server.script(429, 200)`` answers the next request 429 and the one after 200, and then
200 again by default. Headers go with a status as a pair: ``(429, {"Retry-After": "120"})``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SLACK_PATH = "/services/T0000/B0000/SeCrEtToKeN1234"
TEAMS_PATH = "/workflows/abc/triggers/manual/paths/invoke?sig=TeamsSig9876"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class WebhookServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._lock:
                    server.received.append(
                        Received("POST", self.path, dict(self.headers), json.loads(raw or b"null"))
                    )
                    status, headers = server._script.popleft() if server._script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                body = b"ok" if status < 300 else b"error"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads ``received``

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = SLACK_PATH) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def script(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        with self._lock:
            for answer in answers:
                self._script.append(answer if isinstance(answer, tuple) else (answer, {}))


@pytest.fixture
def webhook(settings: Any) -> Iterator[WebhookServer]:
    """The server, started for the test and stopped after it; http to 127.0.0.1 allowed."""
    settings.WEBHOOK_ALLOW_HTTP = True
    server = WebhookServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
