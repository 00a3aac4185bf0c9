"""Starting a task's run, whatever started it, and superseding older queued runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.batch_submission import PlannedRun, submit_builds
from shared.errors import Conflict, InvalidRequest
from shared.ports import RunStore
from shared.run_ids import parse_run_id
from shared.runs import Run, RunStatus, Trigger
from shared.submission import RunOrigin, SubmissionServices, submit_build
from shared.tasks import Task

log = logging.getLogger(__name__)

_SUPERSEDE_SCAN = 100
"""Queued runs of one task looked at; more than this waiting is already a backlog."""
_SUPERSEDE_WINDOW = 5000
"""Only runs among the latest this many are looked at, so a webhook reads a bounded
key range rather than every run ever kept (GitHub waits 10 s for an answer)."""


def start_task_run(
    task: Task,
    origin: RunOrigin,
    services: SubmissionServices,
    now: datetime,
    values: Mapping[str, str] | None = None,
) -> Run:
    """Queue a run of ``task``; a Disabled task never starts (Conflict, 409)."""
    if not task.enabled:
        raise Conflict(
            f"task {task.name!r} is Disabled; enable it with "
            f"`drydock task update --name {task.name} --status Enabled`"
        )
    request = task.run_request(pull_request=origin.trigger is Trigger.PULL_REQUEST)
    run_values = {**task.values, **(values or {})}
    run = submit_build(request, services, now, origin=origin, values=run_values)
    log.info("task %s: run %s queued (%s)", task.name, run.run_id, origin.trigger.value)
    if task.supersede_queued_runs and origin.trigger in (Trigger.COMMIT, Trigger.PULL_REQUEST):
        supersede_queued_runs(run, services.runs, now)
    return run


def start_task_runs(
    starts: Sequence[tuple[Task, RunOrigin]], services: SubmissionServices, now: datetime
) -> list[Run | None]:
    """A run of each (enabled) task at once — a base image's dependents; None for a
    task whose run could not be started. Nothing to supersede: only commits do."""
    planned = [
        PlannedRun(task.run_request(pull_request=False), origin, dict(task.values))
        for task, origin in starts
    ]
    runs = submit_builds(planned, services, now)
    for (task, origin), run in zip(starts, runs, strict=True):
        if run:
            log.info("task %s: run %s queued (%s)", task.name, run.run_id, origin.trigger.value)
    return runs


def supersede_queued_runs(newer: Run, runs: RunStore, now: datetime) -> list[str]:
    """Cancel the still-Queued runs of the same task, branch and trigger queued before
    ``newer``: building an outdated commit only delays the one that matters."""
    canceled = []
    sequence = parse_run_id(newer.run_id)
    queued = runs.list_versions(
        task=newer.task, status=RunStatus.QUEUED.value, trigger=newer.trigger.value,
        top=_SUPERSEDE_SCAN, min_sequence=sequence - _SUPERSEDE_WINDOW,
    )  # fmt: skip
    for older, etag in list(queued):
        same_line = older.branch == newer.branch and parse_run_id(older.run_id) < sequence
        if same_line and _cancel_queued(older, etag, newer, runs, now):
            canceled.append(older.run_id)
    return canceled


def _cancel_queued(run: Run, etag: str, newer: Run, runs: RunStore, now: datetime) -> bool:
    """Guarded by the ETag the listing saw: a run a builder took (or another
    delivery canceled) since then is left as it is."""
    if run.status is not RunStatus.QUEUED:
        return False
    reason = f"superseded by run {newer.run_id} (commit {(newer.commit or '')[:12]})"
    try:
        runs.replace(run.finished(RunStatus.CANCELED, now, error=reason), etag)
    except Conflict:
        return False
    log.info("run %s canceled: %s", run.run_id, reason)
    return True


def manual_run_values(body: Mapping[str, object]) -> dict[str, str]:
    """``values`` then ``set`` of ``POST /api/tasks/{name}/runs`` (``set`` wins)."""
    unknown = sorted(set(body) - {"values", "set"})
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known: values, set")
    merged: dict[str, str] = {}
    for name in ("values", "set"):
        part = body.get(name) or {}
        if not isinstance(part, dict) or not all(isinstance(v, str) for v in part.values()):
            raise InvalidRequest(f'{name} must be an object of strings like {{"tag": "v1"}}')
        merged.update(part)
    return merged
