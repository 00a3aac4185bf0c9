"""What the in-process benchmarks share: the bench stack's storage, names of
their own, timing of adapter calls, memory high-water marks, a loopback file
server and waiting for the functions host to go quiet.

The in-process benchmarks (poll scale, fan-out, retention) call ``shared/``
directly against the bench stack's Azurite and registry, in tables, queues and
containers named for the run, deleted afterwards; the host and builder never
see them.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import resource
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient

from bench.target import BenchError
from shared import settings as names
from shared.settings import Settings


def settings_from_environ(environ: Mapping[str, str] = os.environ) -> Settings:
    if not environ.get(names.STORAGE):
        raise BenchError(
            f"{names.STORAGE} is not set: the in-process benchmarks need the bench "
            "stack's storage; run them through `make bench`"
        )
    return Settings.from_env(environ)


def unique_name(prefix: str) -> str:
    """Letters and digits only: valid as a table, queue or container name."""
    return f"{prefix}{secrets.token_hex(4)}"


def delete_tables(connection: str, *tables: str) -> None:
    service = TableServiceClient.from_connection_string(connection)
    for table in tables:
        with contextlib.suppress(AzureError):
            service.delete_table(table)


# ---- where the time goes ----------------------------------------------------


class CallTimes:
    """Seconds spent in each adapter method, summed over threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.calls[name] += 1
            self.seconds[name] += seconds

    def wrap(self, label: str, adapter: Any) -> Any:
        return _Timed(label, adapter, self)


class _Timed:
    """Forwards to ``adapter``, timing every method call as ``label.method``."""

    def __init__(self, label: str, adapter: Any, times: CallTimes) -> None:
        self._label, self._adapter, self._times = label, adapter, times

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._adapter, name)
        if not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._times.add(f"{self._label}.{name}", time.perf_counter() - began)

        return timed


# ---- memory -------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size now (Linux)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssPeak:
    """The highest RSS above the starting one while the block runs, sampled every 20 ms."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssPeak:
        self.baseline = self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())


# ---- a loopback file server -----------------------------------------------------


@contextlib.contextmanager
def file_server(routes: dict[str, bytes]) -> Iterator[str]:
    """Serve ``routes`` (path → body) on 127.0.0.1; yields the base URL. Routes
    may be added while it serves."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---- the functions host going quiet ------------------------------------------------


def wait_until_idle(
    port: int,
    busy_below: float = 0.05,
    quiet_windows: int = 3,
    window: float = 1.0,
    timeout: float = 600,
    progress: Callable[[float], None] | None = None,
) -> float:
    """Wait until the process listening on ``port`` uses under ``busy_below`` of a
    core for ``quiet_windows`` windows in a row; returns the seconds waited.

    Pushing thousands of tags makes the registry notify the host thousands of
    times, one after another; a poll measured meanwhile would share the cores
    with that backlog. Without /proc (or the process) it returns at once."""
    pid = listening_pid(port)
    began = time.monotonic()
    if pid is None:
        return 0.0
    quiet = 0
    ticks = os.sysconf("SC_CLK_TCK")
    last = _cpu_seconds(pid, ticks)
    while quiet < quiet_windows and time.monotonic() - began < timeout:
        time.sleep(window)
        now = _cpu_seconds(pid, ticks)
        if now is None or last is None:
            return time.monotonic() - began
        busy = (now - last) / window
        last = now
        quiet = quiet + 1 if busy < busy_below else 0
        if progress:
            progress(busy)
    return time.monotonic() - began


def listening_pid(port: int) -> int | None:
    """The pid holding the IPv4 socket listening on 127.0.0.1:``port``, if visible."""
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
    return None


def _cpu_seconds(pid: int, ticks: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
