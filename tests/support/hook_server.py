"""Test scaffolding: a loopback HTTP server standing in for notification targets.

It records every POST (headers, body, the status it answered) and answers each path
with its scripted statuses in turn, then 200. A GET answers 404, after
``get_delay`` seconds: a context that is slow to download and then missing.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

Received = tuple[dict[str, str], bytes, int]


@dataclass
class HookServer:
    url: str
    script: dict[str, list[int]] = field(default_factory=dict)
    received: dict[str, list[Received]] = field(default_factory=dict)
    get_delay: float = 0.0

    def delivered(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        """The requests ``path`` answered 200 to, headers lower-cased."""
        return [(headers, body) for headers, body, status in self.received.get(path, [])
                if status == 200]  # fmt: skip


@contextlib.contextmanager
def hook_server() -> Iterator[HookServer]:
    lock = threading.Lock()
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                answers = state.script.get(self.path, [])
                status = answers.pop(0) if answers else 200
                headers = {name.lower(): value for name, value in self.headers.items()}
                state.received.setdefault(self.path, []).append((headers, body, status))
            self._answer(status)

        def do_GET(self) -> None:  # noqa: N802
            stop.wait(state.get_delay)
            self._answer(404)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = HookServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.1)
