"""Pickup latency: how long a queued run waits before a builder takes it.

Measured as ``createTime`` → ``startTime`` of the run record on tiny builds
(a ``LABEL`` with a nonce, no push), submitted one at a time after a random
pause, so the submission lands anywhere in the builder's idle polling cycle.
The contract: a builder picks a run up within 100 ms, not on a poll tick.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass

from bench.report import SUMMARY_HEADERS, Machine, stamp, summary_cells, table
from bench.stats import median, summarize
from bench.target import BenchError, Target, api_time, context_archive

NAME = "pickup"
TARGET_SECONDS = 0.100


@dataclass
class Result:
    waits: list[float]
    submits: list[float]
    pause: tuple[float, float]
    from_overhead: list[float]


def run(target: Target, count: int, seed: int = 8) -> Result:
    base = target.base_image()
    pause = (0.2, 1.5)
    chooser = random.Random(seed)
    waits, submits = [], []
    for index in range(count):
        time.sleep(chooser.uniform(*pause))
        nonce = secrets.token_hex(8)
        archive = context_archive({"Dockerfile": f"FROM {base}\nLABEL bench.nonce={nonce}\n"})
        began = time.time()
        submitted = target.submit_archive(archive, [("noPush", "true")])
        run, _ = target.wait_for_run(submitted["runId"], 0.05)
        if run["status"] != "Succeeded":
            raise BenchError(f"run {run['runId']} ended {run['status']}: {run.get('error')}")
        created, started = api_time(run["createTime"]), api_time(run["startTime"])
        assert created is not None and started is not None
        waits.append(started - created)
        submits.append(created - began)
        if (index + 1) % 10 == 0:
            print(
                f"  pickup {index + 1}/{count}: median so far {median(waits) * 1000:.0f} ms",
                flush=True,
            )
    return Result(waits=waits, submits=submits, pause=pause, from_overhead=[])


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = [["tiny builds, idle builder", *_cells(result.waits)]]
    if result.from_overhead:
        rows.append(["overhead benchmark's Drydock runs", *_cells(result.from_overhead)])
    everything = result.waits + result.from_overhead
    over = sum(1 for wait in everything if wait > TARGET_SECONDS)
    verdict = "meets" if median(everything) <= TARGET_SECONDS else "misses"
    return "".join(
        [
            "## Pickup latency (part of benchmark 1)\n\n",
            stamp(machine_now, command),
            f"\n{len(result.waits)} tiny quick tasks (`FROM` the base plus a `LABEL` holding a "
            "nonce, `noPush`), one at a time, each after a random pause of "
            f"{result.pause[0]}–{result.pause[1]} s so submissions land anywhere in the "
            "builder's idle polling cycle. Pickup = the run's `createTime` → `startTime`: "
            "the host writes the run and its queue message, the builder receives the "
            "message, reads the run and records it `Running`.\n\n",
            table(("runs", "n", *SUMMARY_HEADERS), rows),
            f"\nTarget: pickup within 100 ms. Median over all {len(everything)} runs: "
            f"**{median(everything) * 1000:.0f} ms** ({verdict}); {over} of {len(everything)} "
            "took longer than 100 ms.\n"
            f"For scale, submit (client starts the POST → `createTime`) had a median of "
            f"{median(result.submits) * 1000:.0f} ms.\n",
        ]
    )


def _cells(values: list[float]) -> list[str]:
    return [str(len(values)), *summary_cells(summarize(values))]
