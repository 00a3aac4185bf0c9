"""Builders as real processes (``python -m builder`` on the test's own queue):
a SIGKILL mid-run, a SIGTERM hand-back, and several builders sharing a queue.

The lease is three seconds here (DRYDOCK_BUILDER_LEASE_SECONDS), so a dead
builder's run is retaken within seconds rather than a minute.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from shared.build_requests import parse_query_build_request
from shared.runs import Run, RunStatus
from shared.submission import submit_build
from tests.support.archives import make_tar

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = "3"


@pytest.fixture
def builders(ctx, storage_connection, registry_host, unique_name, tmp_path):
    """Starts builder processes on the test's queues; kills any left at the end."""
    started: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "AzureWebJobsStorage": storage_connection,
        "DRYDOCK_REGISTRY": registry_host,
        "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true",
        "DRYDOCK_BUILDER_LEASE_SECONDS": LEASE_SECONDS,
        "PYTHONUNBUFFERED": "1",
    }

    def start(concurrency: int = 1, grace: float = 20) -> subprocess.Popen:
        number = len(started)
        log = open(tmp_path / f"builder{number}.log", "wb")  # noqa: SIM115 - closed by the OS
        process = subprocess.Popen(
            [sys.executable, "-m", "builder", "--queue", f"{unique_name}-builds"]
            + ["--events-queue", f"{unique_name}-events", "--concurrency", str(concurrency)]
            + ["--grace", str(grace), "--workspace", str(tmp_path / f"ws{number}")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _submit(ctx, dockerfile: str) -> Run:
    request = parse_query_build_request([("noPush", "true")])
    upload = io.BytesIO(make_tar({"Dockerfile": dockerfile}))
    return submit_build(request, ctx.adapters.submission(), datetime.now(UTC), upload)


def _log(ctx, run_id: str) -> str:
    return ctx.adapters.logs.read(run_id, 0).decode()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _ended(ctx, run_id: str, timeout: float = 120) -> Run:
    def ended():
        run, _ = ctx.adapters.runs.get(run_id)
        return run if run.status.is_terminal else None

    return _wait_for(ended, timeout, f"run {run_id} to end")


def _queue_is_empty(ctx) -> bool:
    """No message left, invisible ones included (the count covers them, peek does not)."""
    queue = QueueClient.from_connection_string(
        ctx.adapters.settings.storage_connection, ctx.adapters.build_queue.name
    )
    return queue.get_queue_properties().approximate_message_count == 0


def test_a_run_of_a_killed_builder_finishes_on_another_with_the_attempt_noted(
    ctx, base, builders, unique_name
):
    marker = f"killed-{unique_name}"
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo {marker} && sleep 6\n")
    first = builders()
    _wait_for(lambda: marker in _log(ctx, run.run_id), 60, "the first attempt's RUN")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    builders()

    ended = _ended(ctx, run.run_id)
    assert ended.status is RunStatus.SUCCEEDED, _log(ctx, run.run_id)
    assert ended.attempt == 2
    # Message visibility and lease are 3 s each; the rerun sleeps 6 s.
    assert time.monotonic() - killed_at < 40
    log = _log(ctx, run.run_id)
    assert log.count(f"Run ID: {run.run_id}") == 2
    assert "Attempt 2 of 3: attempt 1's builder stopped holding this run" in log
    assert log.count(marker) >= 2
    _wait_for(lambda: _queue_is_empty(ctx), 15, "the message to be deleted")


def test_sigterm_hands_a_running_run_back_at_once_after_the_grace(ctx, base, builders, unique_name):
    marker = f"handback-{unique_name}"
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo {marker} && sleep 4\n")
    first = builders(grace=0.5)
    _wait_for(lambda: marker in _log(ctx, run.run_id), 60, "the first attempt's RUN")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0
    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.status is RunStatus.RUNNING and not stored.held_at(datetime.now(UTC))
    assert "the builder is shutting down; handed back" in _log(ctx, run.run_id)

    builders()
    ended = _ended(ctx, run.run_id)
    assert ended.status is RunStatus.SUCCEEDED and ended.attempt == 2


def test_sigterm_lets_a_builder_finish_the_run_it_holds(ctx, base, builders, unique_name):
    marker = f"drain-{unique_name}"
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo {marker} && sleep 3\n")
    builder = builders(grace=60)
    _wait_for(lambda: marker in _log(ctx, run.run_id), 60, "the RUN")
    builder.send_signal(signal.SIGTERM)
    assert builder.wait(timeout=60) == 0
    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.status is RunStatus.SUCCEEDED and stored.attempt == 1


def test_two_builders_build_many_runs_each_exactly_once(ctx, base, builders, unique_name):
    runs = [
        _submit(ctx, f"FROM {base[0]}\nRUN echo {unique_name}-{number}\n") for number in range(12)
    ]
    builders(concurrency=2)
    builders(concurrency=2)
    for run in runs:
        ended = _ended(ctx, run.run_id, timeout=180)
        log = _log(ctx, run.run_id)
        assert ended.status is RunStatus.SUCCEEDED, log
        assert ended.attempt == 1
        assert log.count("Run ID: ") == 1
        assert log.count(f"{unique_name}-{runs.index(run)}\n") >= 1
    _wait_for(lambda: _queue_is_empty(ctx), 15, "every message to be deleted")
