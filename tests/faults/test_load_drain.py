"""A thousand queued runs drain: each ends once, none is lost, and memory stays flat.

Everything here is the test's own: Azurite on free ports (so the runs table
holds only these runs), a functions host that takes the builds over HTTP and
consumes their outcome events, two builder processes, and a private Docker
Engine (tests/faults/private_engine.py) so that a thousand builds do not load
the engine other tests share. Runs are cheap by design, so that a thousand fit
the fault tier's time: nine in ten have a context URL that answers 404 and
fail at once (taken, logged, recorded, reported like any run); every tenth is a
real build of a tiny base plus a label, whose layer the engine's cache holds
after the first, so the engine path runs all through the drain.

Memory is the kernel's own peak (VmHWM in /proc/<pid>/status) per process,
taken when the first hundred runs have drained and again after all of them:
a leak per run would show as growth between the two. No timing is asserted.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from shared.runs import RunStatus
from shared.settings import DEFAULTS, Settings, azurite_connection_string
from shared.storage.queues import BUILD_REQUESTS_QUEUE, RUN_EVENTS_POISON_QUEUE, RUN_EVENTS_QUEUE
from shared.wiring import make_adapters
from tests.faults.private_engine import private_engine
from tests.faults.services import (
    azurite,
    functions_host,
    start_builder,
    stop,
    three_free_ports,
)
from tests.support.archives import make_tar
from tests.support.auth_registries import free_port

pytestmark = pytest.mark.faults

RUNS = 1000
FIRST = 100
BUILDERS = 2
CONCURRENCY = "4"
"""Per builder: runs mostly wait on storage, so more overlap than cores."""
BUILD_EVERY = 10
SUBMITTERS = 8
MIB = 1024 * 1024
GROWTH_LIMIT = 50 * MIB
"""Generous: a leak of even 50 KiB per run would show as 45 MiB over 900 runs,
and these machines are noisy."""
DRAIN_SECONDS = 420
API_KEY = "faults-load"


@pytest.fixture
def engine(tmp_path):
    with private_engine(tmp_path / "dockerd.log") as engine:
        yield engine


def test_a_thousand_queued_runs_drain_once_each_with_bounded_memory(
    base, engine, web, registry_host, tmp_path
):
    (location := tmp_path / "azurite").mkdir()
    port = three_free_ports()
    env = {**DEFAULTS, "AzureWebJobsStorage": azurite_connection_string(blob_port=port),
           "DRYDOCK_REGISTRY": registry_host, "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true",
           "DRYDOCK_API_KEY": API_KEY, "DOCKER_HOST": engine.host}  # fmt: skip
    host_port = free_port()
    with azurite(location, port), functions_host(env, host_port, tmp_path / "host.log") as host:
        missing = f"{web[0]}/missing.tar.gz"  # the web fixture answers 404
        builds, failing = _submit_all(f"http://127.0.0.1:{host_port}", base[0], missing)
        builders = [
            start_builder(
                env, tmp_path / f"builder{i}.log", tmp_path / f"ws{i}", "--concurrency", CONCURRENCY
            )  # fmt: skip
            for i in range(BUILDERS)
        ]
        processes = {"host": host, **{f"builder{i}": b for i, b in enumerate(builders)}}
        try:
            after_first = _peaks_once_drained_to(env, RUNS - FIRST, processes, tmp_path)
            after_all = _peaks_once_drained_to(env, 0, processes, tmp_path)
            alive = {name: p.poll() is None for name, p in processes.items()}
            runs = list(make_adapters(Settings.from_env(env)).runs.list(top=2 * RUNS))
            poisoned = _messages(env, RUN_EVENTS_POISON_QUEUE)
        finally:
            for builder in builders:
                stop(builder)

    recorded = [run.run_id for run in runs]
    assert sorted(recorded) == sorted(builds + failing)  # each once: none lost, none doubled
    expected = {**dict.fromkeys(builds, RunStatus.SUCCEEDED),
                **dict.fromkeys(failing, RunStatus.FAILED)}  # fmt: skip
    wrong = {run.run_id: (run.status, run.attempt, run.error) for run in runs
             if (run.status, run.attempt) != (expected[run.run_id], 1)}  # fmt: skip
    assert not wrong, wrong
    assert all(run.lease_until is None for run in runs)
    assert poisoned == 0
    assert all(alive.values()), alive
    growth = {name: after_all[name] - after_first[name] for name in processes}
    print(_memory_table(after_first, after_all))
    assert all(grown < GROWTH_LIMIT for grown in growth.values()), _memory_table(
        after_first, after_all
    )


def _submit_all(url: str, base_image: str, missing: str) -> tuple[list[str], list[str]]:
    """RUNS runs through ``POST /api/builds``, SUBMITTERS at a time: the ids of
    the real builds and of the runs that fail at once."""
    build = make_tar({"Dockerfile": f"FROM {base_image}\nLABEL org.drydock.test=load\n"})
    session = requests.Session()
    headers = {"x-functions-key": API_KEY}

    def submit(number: int) -> str:
        if number % BUILD_EVERY == 0:
            body = {"data": build, "headers": {**headers, "Content-Type": "application/gzip"}}
            response = session.post(f"{url}/api/builds", params={"noPush": "true"}, **body)
        else:
            body = {"context": missing, "noPush": True}
            response = session.post(f"{url}/api/builds", json=body, headers=headers)
        assert response.status_code == 202, response.text
        return str(response.json()["runId"])

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        run_ids = list(pool.map(submit, range(RUNS)))
    assert len(set(run_ids)) == RUNS
    return run_ids[::BUILD_EVERY], [r for i, r in enumerate(run_ids) if i % BUILD_EVERY]


def _peaks_once_drained_to(
    env: dict[str, str], left: int, processes: dict[str, subprocess.Popen], logs: Path
) -> dict[str, int]:
    """Each process's peak RSS once at most ``left`` build requests are left and,
    when none are, once the host has consumed every outcome event as well."""
    queues = [BUILD_REQUESTS_QUEUE] + ([RUN_EVENTS_QUEUE] if left == 0 else [])
    deadline = time.monotonic() + DRAIN_SECONDS
    while any(_messages(env, queue) > left for queue in queues):
        dead = [name for name, process in processes.items() if process.poll() is not None]
        assert not dead and time.monotonic() < deadline, _tails(logs, dead)
        time.sleep(1)
    return {name: _peak_rss(process.pid) for name, process in processes.items()}


def _messages(env: dict[str, str], queue: str) -> int:
    client = QueueClient.from_connection_string(env["AzureWebJobsStorage"], queue)
    try:
        return client.get_queue_properties().approximate_message_count
    except ResourceNotFoundError:  # a queue nobody has created yet holds nothing
        return 0


def _peak_rss(pid: int) -> int:
    """The kernel's high-water mark of the process's resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


def _memory_table(first: dict[str, int], last: dict[str, int]) -> str:
    rows = [f"{name}: peak {first[name] / MIB:.1f} MiB after {FIRST} runs, "
            f"{last[name] / MIB:.1f} MiB after {RUNS}" for name in first]  # fmt: skip
    return "\n".join(rows)


def _tails(logs: Path, dead: list[str]) -> str:
    names = ["host", *(f"builder{i}" for i in range(BUILDERS))]
    return f"dead: {dead}\n" + "\n".join(
        f"--- {name} ---\n" + (logs / f"{name}.log").read_text()[-1500:] for name in names
    )
