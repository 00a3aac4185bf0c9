"""Benchmark 7: retention, purging N expired runs: time and peak memory.

In-process against the bench Azurite: N finished runs (``Succeeded``, finished
40 days ago, spec and images as a quick build records them) are written
straight into a runs table of the run's own, 100 per table transaction (not
timed). Then ``purge_expired_runs`` — what the retention timer calls
(functions/retention.py) — runs with a 30-day retention over that table and
log and context containers and a secrets table of its own (empty: a delete of
what is not there is still one storage request per run and store).
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from bench.inprocess import CallTimes, RssPeak, delete_tables, settings_from_environ, unique_name
from bench.report import Machine, ms, secs, stamp, table
from bench.target import BenchError, Target
from shared.retention import PAGE_SIZE, purge_expired_runs, retention_period
from shared.run_ids import format_run_id
from shared.runs import BuildSpec, ImageOutput, Run, RunStatus, Trigger
from shared.storage.blobs import BlobContextStore, BlobLogStore
from shared.storage.run_entities import run_to_entity
from shared.storage.table_writes import insert_batch
from shared.storage.tables import TableRunStore, TableSecretStore

NAME = "retention"
RETENTION_DAYS = 30.0
BATCH = 100
INSERT_WORKERS = 8


@dataclass
class Size:
    runs: int
    deleted: int
    skipped: int
    seconds: float
    rss_growth: int
    insert_seconds: float
    remaining: int
    times: CallTimes


@dataclass
class Result:
    sizes: list[Size]


def run(target: Target, sizes: list[int]) -> Result:
    connection = settings_from_environ().storage_connection
    measured = []
    for size in sorted(sizes):
        measured.append(_measure(connection, size))
        last = measured[-1]
        print(
            f"  retention {size}: purged {last.deleted} in {secs(last.seconds)} "
            f"({last.deleted / last.seconds:.0f}/s), RSS +{last.rss_growth / 2**20:.1f} MiB",
            flush=True,
        )
    return Result(measured)


def _measure(connection: str, size: int) -> Size:
    stem = unique_name("benchret")
    runs_table, ids_table, secrets_table = f"{stem}runs", f"{stem}ids", f"{stem}secrets"
    logs_container, contexts_container = f"{stem}-logs", f"{stem}-contexts"
    runs = TableRunStore(connection, runs_table, ids_table)
    runs.ensure_tables()
    logs, contexts = (
        BlobLogStore(connection, logs_container),
        BlobContextStore(connection, contexts_container),
    )
    secrets_store = TableSecretStore(connection, secrets_table)
    logs.ensure_container()
    contexts.ensure_container()
    secrets_store.ensure_table()
    try:
        now = datetime.now(UTC)
        began = time.perf_counter()
        _insert_expired(connection, runs_table, size, now)
        inserted = time.perf_counter() - began
        print(f"  retention {size}: {size} runs inserted in {inserted:.1f} s", flush=True)
        times = CallTimes()
        stores = tuple(
            times.wrap(label, store)
            for label, store in (("logs", logs), ("contexts", contexts), ("secrets", secrets_store))
        )
        with RssPeak() as rss:
            began = time.perf_counter()
            report = purge_expired_runs(
                times.wrap("runs", runs), stores, now, retention_period(RETENTION_DAYS)
            )
            seconds = time.perf_counter() - began
        remaining = sum(len(page) for page in runs.pages_finished_before(now, PAGE_SIZE))
        if report.deleted != size:
            raise BenchError(f"the purge deleted {report.deleted} of {size} expired runs")
        return Size(
            size, report.deleted, report.skipped, seconds, rss.growth, inserted, remaining, times
        )
    finally:
        delete_tables(connection, runs_table, ids_table, secrets_table)
        blobs = BlobServiceClient.from_connection_string(connection)
        for container in (logs_container, contexts_container):
            with contextlib.suppress(AzureError):
                blobs.delete_container(container)


def _insert_expired(connection: str, table_name: str, size: int, now: datetime) -> None:
    table = TableServiceClient.from_connection_string(connection).get_table_client(table_name)
    finished = now - timedelta(days=RETENTION_DAYS + 10)

    def entity(sequence: int) -> dict[str, object]:
        run = Run(
            run_id=format_run_id(sequence),
            status=RunStatus.SUCCEEDED,
            trigger=Trigger.MANUAL,
            create_time=finished - timedelta(seconds=30),
            start_time=finished - timedelta(seconds=25),
            finish_time=finished,
            spec=BuildSpec(context="upload"),
            images=(ImageOutput("localhost:5060", "bench/retention", f"dd{sequence}"),),
        )
        return run_to_entity(run)

    def batch(start: int) -> None:
        rows = [entity(n) for n in range(start, min(start + BATCH, size + 1))]
        # One partition: a transaction per hundred, surviving a connection reset.
        if not all(insert_batch(table, rows)):
            raise BenchError(f"runs from {start} on were already in the bench table")

    with ThreadPoolExecutor(INSERT_WORKERS) as pool:
        list(pool.map(batch, range(1, size + 1, BATCH)))


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = [
        [
            f"{size.runs:,}",
            f"{size.deleted:,}",
            f"**{secs(size.seconds)}**",
            ms(size.seconds / size.deleted),
            f"{size.deleted / size.seconds:.0f}",
            f"**{size.rss_growth / 2**20:.1f} MiB**",
            str(size.remaining),
            secs(size.insert_seconds),
        ]
        for size in result.sizes
    ]
    small, large = result.sizes[0], result.sizes[-1]
    return "".join(
        [
            "## 7. Retention: purging expired runs\n\n",
            stamp(machine_now, command),
            "\nIn-process against the bench Azurite: N finished runs (`Succeeded`, finished 40 "
            "days ago) written straight into a runs table of their own, 100 per table "
            "transaction (not timed), then `purge_expired_runs` (shared/retention.py, what the "
            "retention timer calls) with a 30-day retention, over that table and log and "
            "context containers and a secrets table of their own. Those are empty: deleting "
            "what is not there still costs one storage request per run and store. Per page of "
            f"{PAGE_SIZE} expired runs the purge reads the page (with each run's ETag), deletes "
            "the page's records in one table transaction guarded by those ETags (all or "
            "nothing: a page where a run was archived or purged meanwhile goes run by run, "
            "each re-read and deleted under its fresh ETag), then the page's logs and contexts "
            "in one blob batch request per container, and its secrets after one query finding "
            "which runs still hold any (the builder deletes them when a run ends).\n\n",
            table(
                (
                    "expired runs",
                    "purged",
                    "purge time",
                    "per run",
                    "runs/s",
                    "peak RSS growth",
                    "left after",
                    "inserting (untimed)",
                ),
                rows,
            ),  # fmt: skip
            "\nPeak RSS growth = the highest resident set size during the purge (sampled every "
            "20 ms) minus the one before it; it includes the storage SDK's buffers.\n\n"
            + _verdict(small, large)
            + _not_measured(result.sizes)
            + _profile(large),
        ]
    )


def _verdict(small: Size, large: Size) -> str:
    if small is large:
        return ""
    ratio = large.runs / small.runs
    grew = large.rss_growth - small.rss_growth
    flat = grew < 8 * 2**20
    time_ratio = large.seconds / small.seconds
    return (
        f"From {small.runs:,} to {large.runs:,} runs (×{ratio:.0f}) the purge took "
        f"×{time_ratio:.1f} the time and its memory grew by {grew / 2**20:.1f} MiB: "
        + ("**flat**, as the page-by-page walk promises.\n" if flat else "**not flat**.\n")
    )


def _not_measured(sizes: list[Size]) -> str:
    """The issue asks for 10,000 and 100,000; say so when a run measured less."""
    largest = sizes[-1]
    if largest.runs >= 100_000:
        return ""
    rate = largest.deleted / largest.seconds
    return (
        f"\nNot measured here: the issue's 10,000 and 100,000 runs. At this run's "
        f"{rate:.0f} runs/s they would take about {10_000 / rate / 60:.0f} and "
        f'{100_000 / rate / 60:.0f} minutes; measure them with `BENCH_ARGS="retention '
        '--retention-runs 10000 --retention-runs 100000" make bench`.\n'
    )


def _profile(size: Size) -> str:
    """Where the purge's time goes."""
    rows = [
        [f"`{name}`", f"{size.times.calls[name]:,}",
         ms(seconds / size.times.calls[name]), f"{seconds:.1f} s",
         f"{seconds / size.seconds * 100:.0f}%"]
        for name, seconds in sorted(size.times.seconds.items(), key=lambda item: -item[1])
    ]  # fmt: skip
    return (
        f"\n### Where the time goes ({size.runs:,} runs)\n\n"
        "Each store call timed (`runs.pages_finished_before` is a generator, so its pages "
        "are fetched inside the loop and are the remainder):\n\n"
        + table(("call", "calls", "mean", "total", "share of the purge"), rows)
    )
