"""The task REST operations that take more than one store call: save and run now."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from shared.errors import Conflict, InvalidRequest, NotFound
from shared.ports import TaskStore
from shared.runs import Run
from shared.submission import RunOrigin, SubmissionServices
from shared.task_parsing import check_task_name, parse_task
from shared.task_runs import manual_run_values, start_task_run
from shared.tasks import Task


def save_task(
    name: str,
    body: bytes,
    tasks: TaskStore,
    now: datetime,
    registry: str,
    if_match: str | None = None,
    if_none_match: str | None = None,
    check_target: Callable[[str], None] | None = None,
) -> tuple[Task, str, bool]:
    """Create or replace a task; ``(task, etag, created)``.

    ``If-None-Match: *`` creates only; ``If-Match: <etag>`` replaces only that version.
    Either way the write is ETag-guarded, so two concurrent PUTs cannot both win.
    """
    check_task_name(name)
    existing, etag = _current(name, tasks)
    if if_none_match == "*" and existing is not None:
        raise Conflict(f"task {existing.name!r} already exists; use `drydock task update`")
    if if_match not in (None, "*") and if_match != etag:
        raise Conflict(f"task {name!r} changed since you read it; read it again and retry")
    if if_match is not None and existing is None:
        raise NotFound(f"task {name!r} not found; create it first")
    task = parse_task(name, body, existing, now, registry)
    # Notification targets are posted to by the server: refuse forbidden addresses now.
    if check_target is not None:
        for target in task.notifications:
            check_target(target.url)
    return task, tasks.put(task, etag), existing is None


def _current(name: str, tasks: TaskStore) -> tuple[Task | None, str | None]:
    try:
        return tasks.get(name)
    except NotFound:
        return None, None


def run_task_now(
    name: str, body: bytes, tasks: TaskStore, services: SubmissionServices, now: datetime
) -> Run:
    """A manual run, with ``values``/``set`` from the body over the task's values."""
    task, _ = tasks.get(name)
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest('the body must be a JSON object like {"set": {"tag": "v1"}}')
    origin = RunOrigin(task=task.name)
    return start_task_run(task, origin, services, now, values=manual_run_values(data))
