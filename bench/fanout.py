"""Benchmark 4: fan-out, one base update → N dependent runs ``Queued``.

In-process against the bench Azurite and registry: N tasks written straight to a
tasks table of the run's own (``TableTaskStore.put``), N dependents registered
in an index of its own, built with the base's first digest; a second image is
pushed under the base's tag, then one ``check_image`` with the real
``TaskRebuildStarter`` and real submission (run ids, run inserts, queue
messages) is timed. The runs go to a runs table and a queue of their own that
nobody consumes, so no builder builds them. When ``check_image`` returns, every
run it started is written ``Queued`` and enqueued.

Every adapter is wrapped to time its calls, so the table shows where the time
goes (call-seconds summed over the fan-out threads).
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.storage.queue import QueueServiceClient

from bench.inprocess import CallTimes, delete_tables, settings_from_environ, unique_name
from bench.report import Machine, ms, secs, stamp, table
from bench.target import BenchError, Target
from shared.base_image_poll import check_image
from shared.base_image_rebuilds import LIST_ABOVE, READ_WORKERS, TaskRebuildStarter
from shared.base_images import RUNTIME, Dependent
from shared.batch_submission import SEND_WORKERS
from shared.image_ref import normalise_image_ref
from shared.registry.client import RegistryClient
from shared.settings import Settings
from shared.storage.base_image_tables import BaseImageIndex
from shared.storage.blobs import BlobContextStore
from shared.storage.queues import StorageQueue
from shared.storage.tables import TableRunStore, TableSecretStore
from shared.storage.task_tables import TableTaskStore
from shared.submission import SubmissionServices
from shared.task_parsing import parse_task
from shared.wiring import resolve_host
from tests.support.oci import push_image

NAME = "fanout"
TARGET_SECONDS = 10.0
TARGET_SIZE = 1000
SETUP_WORKERS = 16


@dataclass
class Size:
    tasks: int
    runs: int
    seconds: float
    queued: int
    messages: int
    times: CallTimes
    setup_seconds: float


@dataclass
class Result:
    sizes: list[Size]


def run(target: Target, sizes: list[int]) -> Result:
    settings = settings_from_environ()
    measured = []
    for size in sorted(sizes):
        measured.append(_measure(target, settings, size))
        last = measured[-1]
        print(
            f"  fan-out {size}: {last.runs} runs queued in {secs(last.seconds)} "
            f"({last.queued} Queued in the table, {last.messages} messages)",
            flush=True,
        )
    return Result(measured)


def _measure(target: Target, settings: Settings, size: int) -> Size:
    conn = settings.storage_connection
    stem = unique_name("benchfan")
    tables = {part: f"{stem}{part}" for part in ("tasks", "runs", "ids", "index", "marks")}
    queue_name = f"{stem}-builds"
    tasks = TableTaskStore(conn, tables["tasks"])
    runs = TableRunStore(conn, tables["runs"], tables["ids"])
    index = BaseImageIndex(conn, tables["index"], tables["marks"])
    queue = StorageQueue(conn, queue_name)
    tasks.ensure_table()
    runs.ensure_tables()
    index.ensure_tables()
    queue.ensure_queue()
    try:
        repository = f"bench/fanout-{secrets.token_hex(4)}"
        first, _ = push_image(f"http://{target.registry}", repository, "base")
        image = normalise_image_ref(f"{target.registry}/{repository}:base")
        began = time.perf_counter()
        _create_tasks(tasks, index, image, first, size, settings.registry)
        setup = time.perf_counter() - began
        push_image(f"http://{target.registry}", repository, "base")
        time.sleep(0.5)  # let the host's notification of the push come and go

        times = CallTimes()
        submission = SubmissionServices(
            runs=times.wrap("runs", runs),
            contexts=BlobContextStore(conn),
            secrets=TableSecretStore(conn),
            build_queue=times.wrap("queue", queue),
            resolve=resolve_host,
            registry=settings.registry,
            allow_private_networks=settings.allow_private_networks,
        )
        now = datetime.now(UTC)
        starter = TaskRebuildStarter(times.wrap("tasks", tasks), submission, now)
        timed_index = times.wrap("index", index)
        reader = times.wrap("registry", RegistryClient())
        began = time.perf_counter()
        started = check_image(image, timed_index, reader, starter, now)
        seconds = time.perf_counter() - began
        if len(started) != size:
            raise BenchError(f"one update of {size} dependents started {len(started)} runs")
        queued = sum(1 for _ in runs.list(status="Queued", top=size + 10))
        messages = _message_count(conn, queue_name)
        return Size(size, len(started), seconds, queued, messages, times, setup)
    finally:
        delete_tables(conn, *tables.values())
        QueueServiceClient.from_connection_string(conn).delete_queue(queue_name)


def _create_tasks(
    tasks: TableTaskStore, index: BaseImageIndex, image: str, digest: str, size: int,
    registry: str,
) -> None:  # fmt: skip
    body = json.dumps({"context": "http://127.0.0.1:9/app.tar.gz", "noPush": True}).encode()
    now = datetime.now(UTC)

    def create(number: int) -> None:
        task = parse_task(f"fan-{number:05d}", body, None, now, registry)
        tasks.put(task, None)
        index.register(Dependent(task.key, image, RUNTIME, digest))

    with ThreadPoolExecutor(SETUP_WORKERS) as pool:
        list(pool.map(create, range(size)))


def _message_count(conn: str, queue_name: str) -> int:
    client = QueueServiceClient.from_connection_string(conn).get_queue_client(queue_name)
    return int(client.get_queue_properties().approximate_message_count or 0)


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = [
        [
            f"{size.tasks:,}",
            f"{size.runs:,}",
            f"**{secs(size.seconds)}**",
            ms(size.seconds / size.runs),
            f"{size.runs / size.seconds:.0f}",
            f"{size.queued:,} / {size.messages:,}",
            secs(size.setup_seconds),
        ]
        for size in result.sizes
    ]
    largest = result.sizes[-1]
    verdict = "meets" if largest.seconds < TARGET_SECONDS else "misses"
    if largest.tasks < TARGET_SIZE:
        verdict = "does not test"
    return "".join(
        [
            "## 4. Fan-out: one base update → N dependent runs `Queued`\n\n",
            stamp(machine_now, command),
            "\nIn-process against the bench Azurite and registry: N tasks written straight to a "
            "tasks table of their own, N dependents registered as built with the base's first "
            "digest, a new image pushed under the base's tag, then one `check_image` "
            "(shared/base_image_poll.py) with the real `TaskRebuildStarter` and submission is "
            "timed. It reads the dependent tasks (one listing of the tasks table above "
            f"{LIST_ABOVE} dependents, else a read per task on {READ_WORKERS} threads) to see "
            "which admit the update, claims their trigger marks insert-if-absent a table "
            "transaction per hundred, reserves the run ids in one increment of the shared "
            "counter, inserts the runs `Queued` a transaction per hundred, then sends one queue "
            f"message per run on {SEND_WORKERS} threads (queues have no batch send). Runs and "
            "messages go to a "
            "table and queue of their own that nobody consumes; when `check_image` returns all "
            "of them are there (checked: `Queued` rows / messages). Setting up the tasks is "
            "not timed.\n\n",
            table(
                (
                    "dependent tasks",
                    "runs started",
                    "update → all `Queued`",
                    "per run",
                    "runs/s",
                    "`Queued` rows / messages",
                    "setup (untimed)",
                ),
                rows,
            ),  # fmt: skip
            f"\nTarget: 1,000 in under 10 s — this run **{verdict}** it "
            f"({secs(largest.seconds)} for {largest.tasks:,}).\n\n",
            "### Where the time goes\n\n",
            _profile(largest),
        ]
    )


def _profile(size: Size) -> str:
    total = sum(size.times.seconds.values())
    ordered = sorted(size.times.seconds.items(), key=lambda item: item[1], reverse=True)
    rows = [
        [
            f"`{name}`",
            f"{size.times.calls[name]:,}",
            ms(seconds / size.times.calls[name]),
            f"{seconds:.2f} s",
            f"{seconds / total * 100:.0f}%",
        ]
        for name, seconds in ordered
    ]
    return (
        f"Adapter calls during the {size.tasks:,}-task update, each call timed (call-seconds "
        f"summed over the threads that made them, so they may add up to more than the wall "
        f"time of {secs(size.seconds)}; nested calls are not double counted: the adapters "
        "do not call each other):\n\n"
        + table(("call", "calls", "mean", "call-seconds", "share"), rows)
    )
