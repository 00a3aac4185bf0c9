"""Outcomes reported by builders on the ``run-events`` queue.

The builder writes a run's final state itself (so clients see it at once) and
then reports it here; the run-events function applies any report whose run is
not yet in that state, so an outcome survives a failed direct write. Applying
the same event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.errors import Conflict, InvalidRequest
from shared.ports import RunStore
from shared.runs import BaseImageUse, Dependencies, ImageOutput, Run, RunStatus


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
