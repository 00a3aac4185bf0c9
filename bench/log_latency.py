"""Benchmark 6: log latency, a line printed by a build step → readable from the API.

The step stamps each line with the wall clock at the moment it prints it.
Busybox's ``date`` has no ``%N``, so the stamp comes from ``adjtimex``
(read-only, no privilege needed), which reports seconds and microseconds. The
client reads ``GET /api/runs/{id}/logs?offset=N`` every 20 ms and notes when
each line first appears; the latency is that moment minus the stamp. The build
container and the client share the machine's clock.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import requests

from bench.report import SUMMARY_HEADERS, Machine, ms, stamp, summary_cells, table
from bench.stats import median, summarize
from bench.target import TERMINAL, BenchError, Target, context_archive

NAME = "log_latency"
POLL_SECONDS = 0.02
LINE_INTERVAL = 0.2
TARGET_P95_SECONDS = 1.0

_STAMP = (
    "adjtimex | awk -v i=$i '/tv_sec/ {{s=$2}} /tv_usec/ {{u=$2}} "
    'END {{printf "LOGMARK %d %d.%06d\\n", i, s, u}}\''
)
DOCKERFILE = (
    "FROM {base}\n"
    "RUN echo {nonce} && for i in $(seq 1 {lines}); do " + _STAMP + "; sleep {interval}; done\n"
)
_MARK = re.compile(r"^LOGMARK (\d+) (\d+\.\d{6})\s*$")


@dataclass
class Result:
    latencies: list[float]
    per_run_medians: list[float]
    lines: int
    runs: int
    missing: int


def run(target: Target, runs: int, lines: int = 20, timeout: float = 300) -> Result:
    base = target.base_image()
    latencies: list[float] = []
    medians: list[float] = []
    missing = 0
    for index in range(runs):
        nonce = secrets.token_hex(8)
        dockerfile = DOCKERFILE.format(base=base, nonce=nonce, lines=lines, interval=LINE_INTERVAL)
        submitted = target.submit_archive(
            context_archive({"Dockerfile": dockerfile}), [("noPush", "true")]
        )
        seen = _follow(target, submitted["runId"], timeout)
        if len(seen) < lines:
            missing += lines - len(seen)
        if not seen:
            raise BenchError(f"run {submitted['runId']}: no stamped line reached the log")
        latencies += seen.values()
        medians.append(median(list(seen.values())))
        print(
            f"  log latency run {index + 1}/{runs} ({submitted['runId']}): {len(seen)} lines, "
            f"median {medians[-1] * 1000:.0f} ms, max {max(seen.values()) * 1000:.0f} ms",
            flush=True,
        )
    return Result(latencies, medians, lines, runs, missing)


def _follow(target: Target, run_id: str, timeout: float) -> dict[int, float]:
    """Line number → seconds from its stamp to the poll that first returned it."""
    seen: dict[int, float] = {}
    pending = b""
    offset = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data, offset, status = target.read_log(run_id, offset)
        except requests.HTTPError as exc:  # before the builder opens the log
            if exc.response is None or exc.response.status_code != 404:
                raise
            data, status = b"", ""
        now = time.time()
        pending += data
        *complete, pending = pending.split(b"\n")
        for line in complete:
            match = _MARK.match(line.decode("utf-8", "replace").strip())
            if match:
                seen.setdefault(int(match[1]), now - float(match[2]))
        if status in TERMINAL and not data:
            if status != "Succeeded":
                raise BenchError(f"run {run_id} ended {status}")
            return seen
        time.sleep(POLL_SECONDS)
    raise BenchError(f"run {run_id} did not end within {timeout:.0f} s")


def render(result: Result, machine_now: Machine, command: str) -> str:
    summary = summarize(result.latencies)
    verdict = "meets" if summary.p95 <= TARGET_P95_SECONDS else "misses"
    return "".join(
        [
            "## 6. Log latency: a line printed by a build step → readable from the logs API\n\n",
            stamp(machine_now, command),
            f"\n{result.runs} quick tasks (`noPush`), each a `RUN` printing {result.lines} lines "
            f"{LINE_INTERVAL} s apart, every line stamped with the wall clock when printed "
            "(`adjtimex`: busybox `date` has no `%N`). The client polls "
            f"`GET /api/runs/{{id}}/logs?offset=N` every {POLL_SECONDS * 1000:.0f} ms from the "
            "moment it submits; a line's latency is the time of the first poll that returned "
            "it minus its stamp. The path: container stdout → Docker Engine → the builder's "
            "build stream → the run log's buffer (flushed every 0.5 s, builder/run_log.py) → "
            "append blob in Azurite → the logs function.\n\n",
            table(
                ("lines", *SUMMARY_HEADERS, "mean"),
                [[str(summary.count), *summary_cells(summary), ms(summary.mean)]],
            ),
            f"\nPer-run medians: {', '.join(ms(value) for value in result.per_run_medians)}."
            + (f" {result.missing} stamped lines never showed up." if result.missing else "")
            + f"\n\nTarget: p95 ≤ 1 s — this run **{verdict}** it (p95 {ms(summary.p95)}). "
            "The 0.5 s flush interval alone puts a line's expected wait near 250 ms "
            "(uniform over the interval), plus the append, the poll interval and the read.\n",
        ]
    )
