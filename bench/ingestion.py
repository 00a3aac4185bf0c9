"""Benchmark 5: webhook ingestion, signed GitHub pushes through the host to ``Queued`` runs.

One task follows ``main`` of a Git repository on loopback; N clients (threads,
each on its own keep-alive connection) send signed ``push`` deliveries for it,
each with its own delivery id and commit. The host verifies the signature,
claims the delivery, finds the task, writes the run ``Queued``, enqueues it and
answers ``202`` with the run id: the answer's latency *is* delivery → run
``Queued``.

The runs must not turn into builds that compete for the cores. The task's
repository URL points at a loopback port nothing listens on: a builder that
takes one of its runs fails it at once (connection refused); and the task keeps
the default ``supersedeQueuedRuns``, so each push cancels the task's older
queued runs, as it would for a real repository getting pushes this fast. Both
are part of what the host and the bench builder do meanwhile.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from bench.report import SUMMARY_HEADERS, Machine, stamp, summary_cells, table
from bench.stats import Summary, summarize
from bench.target import BenchError, Target
from shared import settings as names

NAME = "ingestion"
TARGET_PER_SECOND = 100.0
TARGET_P99_SECONDS = 1.0
WARMUP = 20


@dataclass
class Level:
    clients: int
    deliveries: int
    seconds: float
    latency: Summary
    errors: int
    first_error: str

    @property
    def per_second(self) -> float:
        return self.deliveries / self.seconds


@dataclass
class Result:
    levels: list[Level]
    count: int


def run(target: Target, clients: list[int], count: int) -> Result:
    secret = os.environ.get(names.WEBHOOK_SECRET, "")
    if not secret:
        raise BenchError(f"{names.WEBHOOK_SECRET} is not set: run it through `make bench`")
    nonce = secrets.token_hex(4)
    repo_url = f"git://127.0.0.1:9/bench/ingest-{nonce}.git"
    name = f"bench-ingest-{nonce}"
    body = {"context": f"{repo_url}#main", "noPush": True}
    answer = target.session.put(f"{target.url}/api/tasks/{name}", json=body, timeout=30)
    if answer.status_code != 201:
        raise BenchError(f"PUT /api/tasks/{name} answered {answer.status_code}: {answer.text}")
    try:
        levels = []
        for concurrency in clients:
            _load(target, secret, repo_url, concurrency, WARMUP)
            level = _load(target, secret, repo_url, concurrency, count)
            print(
                f"  ingestion x{concurrency}: {level.per_second:.0f} deliveries/s, "
                f"p50 {level.latency.p50 * 1000:.0f} ms, p99 {level.latency.p99 * 1000:.0f} ms"
                + (f", {level.errors} errors ({level.first_error})" if level.errors else ""),
                flush=True,
            )
            levels.append(level)
        return Result(levels, count)
    finally:
        target.session.delete(f"{target.url}/api/tasks/{name}", timeout=30)


def _delivery(secret: str, repo_url: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "ref": "refs/heads/main", "before": "0" * 40, "after": secrets.token_hex(20),
        "repository": {"clone_url": repo_url, "default_branch": "main"},
    }).encode()  # fmt: skip
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    return body, headers


def _load(target: Target, secret: str, repo_url: str, concurrency: int, count: int) -> Level:
    tickets = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", target.host_port, timeout=30)
        mine: list[float] = []
        failed: list[str] = []
        while next(tickets) < count:
            body, headers = _delivery(secret, repo_url)  # signed before the clock starts
            began = time.perf_counter()
            try:
                connection.request("POST", "/api/webhooks/github", body, headers)
                response = connection.getresponse()
                answer = response.read()
                problem = "" if response.status == 202 else f"{response.status} {answer[:120]!r}"
                if not problem and len(json.loads(answer).get("runs", [])) != 1:
                    problem = f"202 without one run: {answer[:120]!r}"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                connection.close()  # reopened by the next request
                problem = f"{type(exc).__name__}: {exc}"
            mine.append(time.perf_counter() - began)
            if problem:
                failed.append(problem)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return Level(
        concurrency,
        len(latencies),
        seconds,
        summarize(latencies),
        len(errors),
        errors[0] if errors else "",
    )


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = [
        [
            str(level.clients),
            str(level.deliveries),
            f"**{level.per_second:.0f}**",
            *summary_cells(level.latency),
            str(level.errors),
        ]
        for level in result.levels
    ]
    best = max(result.levels, key=lambda level: level.per_second)
    meets_rate = best.per_second >= TARGET_PER_SECOND
    meets_p99 = best.latency.p99 < TARGET_P99_SECONDS
    verdict = "meets" if meets_rate and meets_p99 else "misses"
    errors = [level for level in result.levels if level.errors]
    return "".join(
        [
            "## 5. Webhook ingestion: signed GitHub pushes → `Queued` runs\n\n",
            stamp(machine_now, command),
            "\nOne task follows `main` of a Git repository on loopback. N clients (threads, "
            "each on its own keep-alive HTTP/1.1 connection) send signed `push` deliveries "
            "(`X-Hub-Signature-256` over the body, a fresh `X-GitHub-Delivery` and commit "
            f"each) to `POST /api/webhooks/github`; {result.count} per row after "
            f"{WARMUP} unmeasured ones. The host verifies the signature, claims the delivery "
            "(insert-if-absent), finds the tasks of the repository, writes the run `Queued`, "
            "enqueues it, cancels the task's older queued runs (`supersedeQueuedRuns`, on by "
            "default) and answers `202` with the run id: a delivery's latency is delivery → "
            "run `Queued`. A row counts an error unless the answer is `202` with one run.\n\n"
            "The runs must not become builds competing for the two cores: the repository URL "
            "points at a loopback port nothing listens on, so a run the bench builder takes "
            "fails at once (connection refused), and most are superseded before it takes "
            "them. That work, and the clients, share the cores with the host.\n\n",
            table(("clients", "deliveries", "deliveries/s", *SUMMARY_HEADERS, "errors"), rows),
            f"\nTarget: ≥ 100 deliveries/s with p99 under 1 s — this run **{verdict}** it "
            f"(best: {best.per_second:.0f}/s with {best.clients} clients, p99 "
            f"{best.latency.p99 * 1000:.0f} ms).\n"
            + "".join(
                f"\nErrors with {level.clients} clients, the first: `{level.first_error}`.\n"
                for level in errors
            ),
        ]
    )
