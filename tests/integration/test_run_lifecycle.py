"""Run lifecycle in-process: cancel, timeout, retake after a lapsed lease,
the attempt limit, poisoned events, and retention against real Azurite and Docker.

Builder subprocesses (SIGKILL, SIGTERM, several builders) are in
test_run_lifecycle_builders.py.
"""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from builder.run_lifecycle import MAX_ATTEMPTS, execute_run
from shared.build_requests import parse_query_build_request
from shared.retention import purge_expired_runs, retention_period
from shared.run_events import outcome_event, record_poisoned_event
from shared.runs import BuildSpec, Run, RunStatus, Trigger
from shared.storage.blobs import BlobContextStore, BlobLogStore
from shared.storage.tables import TableRunStore
from shared.submission import submit_build
from tests.support.archives import make_tar

pytestmark = pytest.mark.integration


def _submit(ctx, dockerfile: str, *query: tuple[str, str]) -> Run:
    request = parse_query_build_request([("noPush", "true"), *query])
    upload = io.BytesIO(make_tar({"Dockerfile": dockerfile}))
    return submit_build(request, ctx.adapters.submission(), datetime.now(UTC), upload)


def _take_message(ctx):
    (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
    return delivery


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _containers_with(docker_client, marker: str) -> list[str]:
    """Ids of containers (running or not) whose command mentions ``marker``."""
    found = []
    for container in docker_client.containers.list(all=True, ignore_removed=True):
        command = container.attrs.get("Config", {}).get("Cmd") or []
        if marker in " ".join(command):
            found.append(container.id)
    return found


def _start_in_thread(ctx, run_id: str) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def target():
        result["outcome"] = execute_run(run_id, 1, ctx)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def _log(ctx, run_id: str) -> str:
    return ctx.adapters.logs.read(run_id, 0).decode()


def test_a_canceled_queued_run_never_starts_and_its_message_is_dropped(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\n")
    canceled = ctx.adapters.runs.update(run.run_id, lambda r: r.canceled(datetime.now(UTC)))
    assert canceled.status is RunStatus.CANCELED
    delivery = _take_message(ctx)
    outcome = execute_run(run.run_id, delivery.dequeue_count, ctx)
    # A terminal outcome tells the worker to delete the message.
    assert outcome is not None and outcome.status is RunStatus.CANCELED
    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.start_time is None and stored.attempt == 0
    assert _log(ctx, run.run_id) == ""


def test_canceling_a_running_build_stops_its_container_within_seconds(
    ctx, base, docker_client, unique_name
):
    marker = f"cancel-{unique_name}"
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo {marker} && sleep 60\n")
    _take_message(ctx)
    thread, result = _start_in_thread(ctx, run.run_id)
    _wait_for(lambda: _containers_with(docker_client, marker), 60, "the RUN container")
    _wait_for(lambda: marker in _log(ctx, run.run_id), 10, "the RUN output in the log")

    canceled_at = time.monotonic()
    ctx.adapters.runs.update(run.run_id, lambda r: r.canceled(datetime.now(UTC)))
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert time.monotonic() - canceled_at < 5
    assert result["outcome"].status is RunStatus.CANCELED
    _wait_for(lambda: not _containers_with(docker_client, marker), 5, "no container left")

    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.status is RunStatus.CANCELED and stored.attempt == 1
    log = _log(ctx, run.run_id)
    assert marker in log  # kept up to the cancel
    assert "the run was canceled" in log and f"Run {run.run_id} Canceled" in log
    # The builder reports nothing: the cancel itself already recorded the outcome.
    assert list(ctx.adapters.events_queue.receive(1, 1)) == []


def test_a_timed_out_build_leaves_no_container(ctx, base, docker_client, unique_name):
    marker = f"timeout-{unique_name}"
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo {marker} && sleep 60\n", ("timeout", "4"))
    _take_message(ctx)
    outcome = execute_run(run.run_id, 1, ctx)
    assert outcome is not None and outcome.status is RunStatus.TIMEOUT
    assert "timeout of 4s" in (outcome.error or "")
    assert (outcome.finish_time - outcome.start_time).total_seconds() < 15
    _wait_for(lambda: not _containers_with(docker_client, marker), 5, "no container left")
    assert marker in _log(ctx, run.run_id)


def _as_if_a_builder_died(ctx, run_id: str, attempt: int, lease_until: datetime) -> None:
    stored, etag = ctx.adapters.runs.get(run_id)
    dead = replace(
        stored.started(lease_until - timedelta(seconds=60)),
        attempt=attempt,
        lease_until=lease_until,
    )
    ctx.adapters.runs.replace(dead, etag)


def test_a_run_under_a_live_lease_is_left_alone(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\n")
    until = datetime.now(UTC) + timedelta(seconds=60)
    _as_if_a_builder_died(ctx, run.run_id, 1, until)
    before = ctx.adapters.runs.get(run.run_id)
    assert execute_run(run.run_id, 2, ctx) is None
    assert ctx.adapters.runs.get(run.run_id) == before  # not even the ETag moved


def test_a_run_whose_lease_lapsed_is_retaken_as_a_new_attempt(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\nRUN echo retaken\n")
    _as_if_a_builder_died(ctx, run.run_id, 1, datetime.now(UTC) - timedelta(seconds=1))
    outcome = execute_run(run.run_id, 2, ctx)
    assert outcome is not None and outcome.status is RunStatus.SUCCEEDED
    assert outcome.attempt == 2 and outcome.lease_until is None
    log = _log(ctx, run.run_id)
    assert f"Attempt 2 of {MAX_ATTEMPTS}: attempt 1's builder stopped holding this run" in log
    assert f"Run ID: {run.run_id} (attempt 2)" in log


def test_after_the_last_attempt_the_run_ends_as_error_with_the_reason(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\n")
    expired = datetime.now(UTC) - timedelta(seconds=1)
    _as_if_a_builder_died(ctx, run.run_id, MAX_ATTEMPTS, expired)
    outcome = execute_run(run.run_id, MAX_ATTEMPTS + 1, ctx)
    assert outcome is not None and outcome.status is RunStatus.ERROR
    assert f"giving up after {MAX_ATTEMPTS} attempts" in (outcome.error or "")
    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.status is RunStatus.ERROR and stored.attempt == MAX_ATTEMPTS
    assert "giving up" in _log(ctx, run.run_id)
    (event,) = list(ctx.adapters.events_queue.receive(1, 5))
    assert event.body["runId"] == run.run_id and event.body["status"] == "Error"


def test_archiving_a_running_run_survives_its_outcome(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\nRUN sleep 2\n")
    _take_message(ctx)
    thread, result = _start_in_thread(ctx, run.run_id)
    _wait_for(lambda: ctx.adapters.runs.get(run.run_id)[0].status is RunStatus.RUNNING, 30, "run")
    ctx.adapters.runs.update(run.run_id, lambda r: r.with_archived(True))
    thread.join(timeout=60)
    assert result["outcome"].status is RunStatus.SUCCEEDED and result["outcome"].archived
    assert ctx.adapters.runs.get(run.run_id)[0].archived


def test_a_poisoned_event_ends_its_unfinished_run_as_error_and_says_so(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\n")
    _as_if_a_builder_died(ctx, run.run_id, 1, datetime.now(UTC) + timedelta(seconds=60))
    bad = {**outcome_event(run), "status": "Exploded"}
    now = datetime.now(UTC)
    body = json.dumps(bad).encode()
    assert record_poisoned_event(body, ctx.adapters.runs, ctx.adapters.logs, now) == run.run_id
    stored, _ = ctx.adapters.runs.get(run.run_id)
    assert stored.status is RunStatus.ERROR
    assert "outcome report could not be recorded" in (stored.error or "")
    assert "a run event failed repeatedly; the run was ended as Error" in _log(ctx, run.run_id)


def test_a_poisoned_but_valid_event_is_recorded_on_a_last_try(ctx, base):
    run = _submit(ctx, f"FROM {base[0]}\n")
    _as_if_a_builder_died(ctx, run.run_id, 1, datetime.now(UTC) + timedelta(seconds=60))
    running, _ = ctx.adapters.runs.get(run.run_id)
    event = outcome_event(running.finished(RunStatus.SUCCEEDED, datetime.now(UTC)))
    body = json.dumps(event).encode()
    now = datetime.now(UTC)
    record_poisoned_event(body, ctx.adapters.runs, ctx.adapters.logs, now)
    assert ctx.adapters.runs.get(run.run_id)[0].status is RunStatus.SUCCEEDED
    assert "recorded on a last try" in _log(ctx, run.run_id)
    assert record_poisoned_event(b"not json", ctx.adapters.runs, ctx.adapters.logs, now) is None


@pytest.fixture
def retention_stores(storage_connection, unique_name):
    """A runs table and blob containers of the test's own: retention must never
    see (let alone purge) other tests' runs."""
    runs = TableRunStore(storage_connection, f"{unique_name}runs", f"{unique_name}counters")
    runs.ensure_tables()
    logs = BlobLogStore(storage_connection, f"{unique_name}-logs")
    contexts = BlobContextStore(storage_connection, f"{unique_name}-contexts")
    logs.ensure_container()
    contexts.ensure_container()
    yield runs, logs, contexts
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    tables = TableServiceClient.from_connection_string(storage_connection)
    for table in (f"{unique_name}runs", f"{unique_name}counters"):
        tables.delete_table(table)
    blobs = BlobServiceClient.from_connection_string(storage_connection)
    for container in (f"{unique_name}-logs", f"{unique_name}-contexts"):
        blobs.delete_container(container)


def _stored_run(runs, logs, contexts, status, finished_ago, archived=False) -> str:
    from shared.run_ids import format_run_id

    run_id = format_run_id(runs.allocate_sequence())
    now = datetime.now(UTC)
    finish = now - finished_ago if finished_ago is not None else None
    runs.insert(
        Run(
            run_id=run_id,
            status=status,
            trigger=Trigger.MANUAL,
            create_time=now - timedelta(minutes=5),
            spec=BuildSpec(context="upload"),
            finish_time=finish,
            archived=archived,
        )
    )
    logs.create(run_id)
    logs.append(run_id, b"a log line\n")
    contexts.upload(run_id, io.BytesIO(b"context"))
    return run_id


def _exists(runs, logs, run_id) -> bool:
    try:
        runs.get(run_id)
    except Exception:  # noqa: BLE001 - NotFound
        assert logs.read(run_id, 0) == b""
        return False
    return True


def test_retention_of_seconds_purges_finished_runs_with_log_and_context_only(
    retention_stores, monkeypatch
):
    runs, logs, contexts = retention_stores
    monkeypatch.setattr("shared.retention.PAGE_SIZE", 4)  # several pages from few runs
    second = timedelta(seconds=1)
    expired = [
        _stored_run(runs, logs, contexts, status, 30 * second)
        for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED) * 3
    ]
    kept = [
        _stored_run(runs, logs, contexts, RunStatus.SUCCEEDED, 30 * second, archived=True),
        _stored_run(runs, logs, contexts, RunStatus.RUNNING, None),
        _stored_run(runs, logs, contexts, RunStatus.QUEUED, None),
        _stored_run(runs, logs, contexts, RunStatus.SUCCEEDED, second),  # within retention
    ]
    retention = retention_period(10 / 86400)  # ten seconds, as decimal days

    # Two purges at once: each run is deleted exactly once between them.
    reports = []
    purges = [
        threading.Thread(
            target=lambda: reports.append(
                purge_expired_runs(runs, (logs, contexts), datetime.now(UTC), retention)
            )
        )
        for _ in range(2)
    ]
    for purge in purges:
        purge.start()
    for purge in purges:
        purge.join(timeout=60)
    assert sorted(i for report in reports for i in report.deleted_ids) == sorted(expired)
    for run_id in expired:
        assert not _exists(runs, logs, run_id)
        with pytest.raises(Exception, match="gone"):
            contexts.download(run_id)
    for run_id in kept:
        assert _exists(runs, logs, run_id) and logs.read(run_id, 0) == b"a log line\n"
        contexts.download(run_id).close()
