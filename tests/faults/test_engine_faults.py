"""The Docker Engine goes away while a builder process builds a run, and comes back.

The engine is the test's own (tests/faults/private_engine.py): the default one
serves other tests at the same time. Whether it is restarted (SIGTERM: it kills
the build's container, and the build reports exit code 137) or crashes
(SIGKILL: the stream breaks), the attempt stops as a transient fault: the run
is retaken once the engine is back and succeeds, recorded and reported once.
While the engine is away the builder takes no new run, so none spends an
attempt on an engine that is not there.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime

import pytest

from shared.build_requests import parse_query_build_request
from shared.runs import Run, RunStatus
from shared.submission import submit_build
from tests.faults.private_engine import private_engine
from tests.faults.services import start_builder, stop
from tests.support.archives import make_tar

pytestmark = pytest.mark.faults

LEASE_SECONDS = "6"
"""The builder's lease: a retake waits for it to lapse, so keep it short here."""
SLEEP_SECONDS = 12
"""Longer than the 10 s a stopping engine lets a build's RUN go on before it
kills it: so a restart fails the step (exit 137) rather than waiting for it."""


@pytest.fixture
def engine(tmp_path):
    with private_engine(tmp_path / "dockerd.log") as engine:
        yield engine


@pytest.fixture
def builder(ctx, engine, storage_connection, registry_host, unique_name, tmp_path):
    env = {"AzureWebJobsStorage": storage_connection, "DRYDOCK_REGISTRY": registry_host,
           "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true", "DRYDOCK_API_KEY": "faults",
           "DOCKER_HOST": engine.host, "DRYDOCK_BUILDER_LEASE_SECONDS": LEASE_SECONDS}  # fmt: skip
    log = tmp_path / "builder.log"
    process = start_builder(
        env, log, tmp_path / "ws", "--queue", ctx.adapters.build_queue.name,
        "--events-queue", ctx.adapters.events_queue.name, "--concurrency", "1",
    )  # fmt: skip
    yield process, log
    stop(process)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["restarted", "crashed"])
def test_the_engine_going_away_mid_build_retries_the_run_and_the_builder_goes_on(
    ctx, base, engine, builder, how
):
    process, builder_log = builder
    slow = f"RUN echo started && sleep {SLEEP_SECONDS} && echo finished"
    first = _submit(ctx, f"FROM {base[0]}\n{slow}\n")
    _wait_for_log(ctx, first, "started", builder_log)
    engine.stop(how)
    _wait_for_log(ctx, first, "attempt 1 stopped", builder_log)
    second = _submit(ctx, f"FROM {base[0]}\nRUN echo second-build\n")
    time.sleep(3)  # the engine is away: the builder must leave the new run alone
    waiting, _ = ctx.adapters.runs.get(second)
    engine.start()
    ended = [_wait_until_ended(ctx, run_id, builder_log) for run_id in (first, second)]
    builder_alive = process.poll() is None

    logs = [ctx.adapters.logs.read(run_id, 0).decode() for run_id in (first, second)]

    assert (waiting.status, waiting.attempt) == (RunStatus.QUEUED, 0)
    assert [(run.status, run.attempt) for run in ended] == [
        (RunStatus.SUCCEEDED, 2),
        (RunStatus.SUCCEEDED, 1),
    ], [run.error for run in ended]
    assert re.search(r"attempt 1 stopped: .*Docker Engine", logs[0]), logs[0]
    assert "finished" in logs[0] and "second-build" in logs[1]
    assert all(run.lease_until is None for run in ended)
    assert sorted(_outcome_events(ctx)) == sorted([first, second])  # reported once each
    assert builder_alive, builder_log.read_text()[-3000:]


def _submit(ctx, dockerfile: str) -> str:
    request = parse_query_build_request([("noPush", "true")])
    upload = make_tar({"Dockerfile": dockerfile})
    return submit_build(request, ctx.adapters.submission(), datetime.now(UTC), upload).run_id


def _wait_for_log(ctx, run_id: str, text: str, builder_log, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while text.encode() not in ctx.adapters.logs.read(run_id, 0):
        assert time.monotonic() < deadline, f"no {text!r}: " + builder_log.read_text()[-3000:]
        time.sleep(0.1)


def _wait_until_ended(ctx, run_id: str, builder_log, seconds: float = 120) -> Run:
    deadline = time.monotonic() + seconds
    while not (run := ctx.adapters.runs.get(run_id)[0]).status.is_terminal:
        assert time.monotonic() < deadline, builder_log.read_text()[-3000:]
        time.sleep(0.2)
    return run


def _outcome_events(ctx) -> list[str]:
    """Run ids of every outcome on the builder's events queue (nobody else reads it)."""
    time.sleep(1)  # the outcome is sent just after the record is written
    found = []
    while batch := list(ctx.adapters.events_queue.receive(32, 60)):
        found += [str(d.body.get("runId")) for d in batch if d.body.get("type") == "RunFinished"]
    return found
