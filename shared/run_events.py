"""Outcomes reported by builders on the ``run-events`` queue.

The builder writes a run's final state itself (so clients see it at once) and
then reports it here; the run-events function applies any report whose run is
not yet in that state, so an outcome survives a failed direct write. Applying
the same event twice changes nothing. An event the function failed on five
times lands in ``run-events-poison``; ``record_poisoned_event`` makes sure the
run and its log say so instead of the outcome vanishing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ports import LogStore, RunStore
from shared.runs import BaseImageUse, Dependencies, ImageOutput, Run, RunStatus

log = logging.getLogger(__name__)


def outcome_event(run: Run) -> dict[str, Any]:
    """The ``run-events`` message for a run that just ended."""
    return {
        "type": "RunFinished",
        "runId": run.run_id,
        "status": run.status.value,
        "finishTime": run.finish_time.isoformat() if run.finish_time else None,
        "error": run.error,
        "images": [image.to_api() for image in run.images],
        "dependencies": run.dependencies.to_api(),
    }


def record_outcome(event: dict[str, Any], runs: RunStore) -> bool:
    """Apply a RunFinished event; True when the record changed."""
    if event.get("type") != "RunFinished" or not event.get("runId"):
        raise InvalidRequest(f"not a RunFinished event: {sorted(event)}")
    run, etag = runs.get(str(event["runId"]))
    if run.status.is_terminal:
        return False
    try:
        runs.replace(_apply(run, event), etag)
    except Conflict:
        return False  # someone else moved it on meanwhile; the newer writer wins
    return True


def _apply(run: Run, event: dict[str, Any]) -> Run:
    deps = event.get("dependencies") or {}
    runtime = deps.get("runtime")
    return replace(
        run,
        status=RunStatus(event["status"]),
        finish_time=datetime.fromisoformat(event["finishTime"])
        if event.get("finishTime")
        else None,
        error=event.get("error"),
        images=tuple(ImageOutput(**image) for image in event.get("images") or ()),
        dependencies=Dependencies(
            runtime=BaseImageUse(**runtime) if runtime else None,
            buildtime=tuple(BaseImageUse(**use) for use in deps.get("buildtime") or ()),
        ),
    )


def record_poisoned_event(body: bytes, runs: RunStore, logs: LogStore, now: datetime) -> str | None:
    """Give a poisoned event one last try; if it still cannot be applied, end its
    (unfinished) run as Error. Either way the run's log says what happened.
    Returns the run id the event named, None when it names none."""
    run_id = _run_id_of(body)
    if run_id is None:
        return None
    try:
        record_outcome(json.loads(body), runs)
        outcome = "its outcome was recorded on a last try"
    except NotFound:
        return run_id  # purged or never existed: nothing left to annotate
    except (InvalidRequest, ValueError, KeyError, TypeError) as exc:
        outcome = _end_as_error(run_id, f"{type(exc).__name__}: {exc}", runs, now)
    logs.create(run_id)
    logs.append(
        run_id, f"{_stamp(now)} drydock: a run event failed repeatedly; {outcome}\n".encode()
    )
    return run_id


def _run_id_of(body: bytes) -> str | None:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    run_id = event.get("runId") if isinstance(event, dict) else None
    return str(run_id) if run_id else None


def _end_as_error(run_id: str, reason: str, runs: RunStore, now: datetime) -> str:
    run, etag = runs.get(run_id)
    if run.status.is_terminal:
        return f"the run had already ended as {run.status.value} ({reason})"
    message = f"the builder's outcome report could not be recorded ({reason})"
    try:
        runs.replace(run.finished(RunStatus.ERROR, now, error=message), etag)
    except Conflict:
        return f"the run changed meanwhile and was left as it is ({reason})"
    return f"the run was ended as Error ({reason})"


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S")
