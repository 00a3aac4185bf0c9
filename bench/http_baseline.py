"""A baseline, not benchmark 5: raw HTTP capacity of the functions host.

Webhook ingestion (benchmark 5, bench/ingestion.py) stands on this: what the
host itself can take: ``GET /api/health`` (anonymous, one
storage round trip: it ensures the build queue exists) and ``POST /api/builds``
with a JSON body that fails validation (key checked, body parsed, ``400``, no
storage write). N clients, each on its own keep-alive connection, share a fixed
count of requests; the clients run on the same two cores as the host.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import SUMMARY_HEADERS, Machine, stamp, summary_cells, table
from bench.stats import Summary, summarize
from bench.target import Target

NAME = "http_baseline"
INVALID_BUILD = json.dumps({"context": "https://example.invalid/app.tar.gz", "bogus": 1})


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: str
    expected: int
    needs_key: bool
    body: str | None = None


ENDPOINTS = (
    Endpoint("GET /api/health → 200", "GET", "/api/health", 200, False),
    Endpoint(
        "POST /api/builds, invalid JSON → 400", "POST", "/api/builds", 400, True, INVALID_BUILD
    ),
)


@dataclass
class Level:
    endpoint: str
    clients: int
    requests: int
    seconds: float
    latency: Summary
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


@dataclass
class Result:
    levels: list[Level]
    count: int


def run(target: Target, clients: list[int], count: int, warmup: int = 50) -> Result:
    levels = []
    for concurrency in clients:
        for endpoint in ENDPOINTS:  # side by side at each concurrency
            _load(target, endpoint, concurrency, warmup)
            level = _load(target, endpoint, concurrency, count)
            print(
                f"  http {endpoint.label} x{concurrency}: {level.per_second:.0f} req/s, "
                f"p50 {level.latency.p50 * 1000:.1f} ms, p99 {level.latency.p99 * 1000:.1f} ms"
                + (f", {level.errors} errors" if level.errors else ""),
                flush=True,
            )
            levels.append(level)
    return Result(levels, count)


def _load(target: Target, endpoint: Endpoint, concurrency: int, count: int) -> Level:
    tickets = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}
    if endpoint.needs_key:
        headers["x-functions-key"] = target.api_key

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", target.host_port, timeout=30)
        mine: list[float] = []
        failed = 0
        while next(tickets) < count:
            began = time.perf_counter()
            try:
                connection.request(endpoint.method, endpoint.path, endpoint.body, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == endpoint.expected
            except (OSError, http.client.HTTPException):
                connection.close()  # reopened by the next request
                ok = False
            mine.append(time.perf_counter() - began)
            failed += not ok
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = _run_threads(client, concurrency)
    seconds = time.perf_counter() - began
    return Level(
        endpoint.label, concurrency, len(latencies), seconds, summarize(latencies), errors[0]
    )


def _run_threads(client: Callable[[], None], concurrency: int) -> float:
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return began


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = [
        [
            level.endpoint,
            str(level.clients),
            str(level.requests),
            f"**{level.per_second:.0f}**",
            *summary_cells(level.latency),
            str(level.errors),
        ]
        for level in result.levels
    ]
    return "".join(
        [
            "## Baseline (not benchmark 5): raw HTTP capacity of the functions host\n\n",
            stamp(machine_now, command),
            "\nBenchmark 5 (signed webhook pushes through the host to `Queued` runs) stands on "
            "this floor: what `python -m devhost` "
            "answers per second with no build work behind it. `GET /api/health` is anonymous "
            "and makes one storage round trip (it ensures the build queue exists); "
            "`POST /api/builds` with an unknown field is key-checked, parsed and refused with "
            "`400` before any storage call. "
            f"{result.count} requests per row after 50 unmeasured ones, shared by N clients "
            "(threads, each with its own keep-alive HTTP/1.1 connection, `http.client`); "
            "the two endpoints alternate at each N. The clients share the two cores with the "
            "host, so the host gets less than all of them.\n\n",
            table(("endpoint", "clients", "requests", "req/s", *SUMMARY_HEADERS, "errors"), rows),
            "\nLatency is per request as the client saw it, connection reuse included.\n",
        ]
    )
