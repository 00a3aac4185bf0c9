"""Run <-> Table entity mapping. Nested parts are JSON columns; filterable
fields (status, trigger, task, times) are plain columns so OData can filter."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.run_ids import parse_run_id, row_key_for
from shared.runs import (
    BaseImageUse,
    BuildSpec,
    Dependencies,
    ImageOutput,
    Run,
    RunStatus,
    Trigger,
)

PARTITION = "run"


def run_to_entity(run: Run) -> dict[str, Any]:
    return {
        "PartitionKey": PARTITION,
        "RowKey": row_key_for(parse_run_id(run.run_id)),
        "runId": run.run_id,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "task": run.task or "",
        "createTime": run.create_time,
        "startTime": run.start_time,
        "finishTime": run.finish_time,
        "commit": run.commit or "",
        "branch": run.branch or "",
        "archived": run.archived,
        "error": run.error or "",
        "attempt": run.attempt,
        "leaseUntil": run.lease_until,
        "spec": json.dumps(run.spec.to_dict()),
        "images": json.dumps([image.to_api() for image in run.images]),
        "dependencies": json.dumps(run.dependencies.to_api()),
        "baseImageUpdate": json.dumps(run.base_image_update),
        "steps": json.dumps(list(run.steps)),
    }


def entity_to_run(entity: dict[str, Any]) -> Run:
    return Run(
        run_id=entity["runId"],
        status=RunStatus(entity["status"]),
        trigger=Trigger(entity["trigger"]),
        task=entity.get("task") or None,
        create_time=entity["createTime"],
        start_time=_time(entity.get("startTime")),
        finish_time=_time(entity.get("finishTime")),
        commit=entity.get("commit") or None,
        branch=entity.get("branch") or None,
        archived=bool(entity.get("archived")),
        error=entity.get("error") or None,
        attempt=int(entity.get("attempt") or 0),
        lease_until=_time(entity.get("leaseUntil")),
        spec=BuildSpec.from_dict(json.loads(entity["spec"])),
        images=tuple(ImageOutput(**item) for item in json.loads(entity.get("images") or "[]")),
        dependencies=_dependencies(json.loads(entity.get("dependencies") or "{}")),
        base_image_update=json.loads(entity.get("baseImageUpdate") or "null"),
        steps=tuple(json.loads(entity.get("steps") or "[]")),
    )


def _dependencies(data: dict[str, Any]) -> Dependencies:
    runtime = data.get("runtime")
    return Dependencies(
        runtime=BaseImageUse(**runtime) if runtime else None,
        buildtime=tuple(BaseImageUse(**use) for use in data.get("buildtime") or ()),
    )


def _time(value: Any) -> datetime | None:
    # The Tables SDK hands back TablesEntityDatetime (a datetime subclass) or None.
    return value if isinstance(value, datetime) else None
