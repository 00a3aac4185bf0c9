"""``POST /api/runs`` (``az acr run``) input in both forms, validated, and queued.

JSON: ``context``, ``file`` (a task YAML in the context), ``values``, ``set``,
``timeout``, ``cmd``, and our extension ``taskFile`` (the YAML itself, as
``az acr run -f -`` reads it from stdin). Tar body: the options as query
parameters, ``set=K=V`` repeatable. A run without a context (``/dev/null``)
gets an empty one, so every run has a workspace.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from shared.context_url import parse_context_url
from shared.errors import InvalidRequest
from shared.request_fields import (
    check_file,
    json_object,
    pairs,
    string_field,
    string_map,
    timeout_seconds,
)
from shared.run_ids import format_run_id
from shared.runs import BuildSpec, Run, RunStatus
from shared.submission import (
    UPLOAD_CONTEXT,
    RunOrigin,
    SubmissionServices,
    check_context_reachable,
)

INLINE_TASK_FILE = "acr-task.yaml"
MAX_INLINE_TASK_FILE = 512 * 1024
_JSON_FIELDS = frozenset({"context", "file", "values", "set", "timeout", "cmd", "taskFile"})
_QUERY_FIELDS = frozenset({"file", "set", "timeout", "cmd", "code"})


@dataclass(frozen=True)
class RunRequest:
    context: str | None  # None: the body is the context, or there is none
    file: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    timeout: int = 3600
    cmd: str | None = None
    task_file: str | None = None


def parse_json_run_request(body: bytes) -> RunRequest:
    data = json_object(body)
    unknown = sorted(set(data) - _JSON_FIELDS)
    if unknown:
        known = ", ".join(sorted(_JSON_FIELDS))
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known fields: {known}")
    context = string_field(data, "context")
    if context is not None:
        parse_context_url(context)
    return _validated(
        context=context,
        file=string_field(data, "file"),
        values={**string_map(data, "values"), **string_map(data, "set")},
        timeout=timeout_seconds(data.get("timeout", 3600)),
        cmd=string_field(data, "cmd"),
        task_file=string_field(data, "taskFile"),
    )


def parse_query_run_request(query: Sequence[tuple[str, str]]) -> RunRequest:
    unknown = sorted({name for name, _ in query} - _QUERY_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s) {', '.join(unknown)}")
    single = dict(query)
    return _validated(
        context=None,
        file=single.get("file") or None,
        values=pairs([value for name, value in query if name == "set"], "set"),
        timeout=timeout_seconds(single.get("timeout", "3600")),
        cmd=single.get("cmd") or None,
        task_file=None,
    )


def _validated(**fields: Any) -> RunRequest:
    request = RunRequest(**fields)
    given = [name for name in ("file", "cmd", "task_file") if getattr(request, name)]
    if len(given) != 1:
        raise InvalidRequest("give exactly one of file (a task YAML), taskFile or cmd")
    if request.file is not None:
        check_file(request.file)
        if not request.file.lower().endswith((".yaml", ".yml")):
            raise InvalidRequest(f"file {request.file!r} must be a task file ending .yaml or .yml")
    if request.task_file is not None and request.context is not None:
        raise InvalidRequest("taskFile carries its own YAML: leave context out")
    if request.task_file is not None and len(request.task_file) > MAX_INLINE_TASK_FILE:
        raise InvalidRequest(f"taskFile is larger than {MAX_INLINE_TASK_FILE} bytes")
    if request.cmd is not None and not request.cmd.strip():
        raise InvalidRequest('cmd must name an image and its arguments, like "busybox echo hi"')
    _check_values(request.values)
    return request


def _check_values(values: dict[str, str]) -> None:
    for name in values:
        if not name or any(ch.isspace() or ch in "{}." for ch in name):
            raise InvalidRequest(f"value name {name!r} is invalid: use letters, digits, _ and -")


def submit_task_run(
    request: RunRequest,
    services: SubmissionServices,
    now: datetime,
    upload: BinaryIO | None = None,
    origin: RunOrigin = RunOrigin(),
) -> Run:
    """Record the run, store its context, queue it; the task file is read by the builder."""
    run_id = format_run_id(services.runs.allocate_sequence())
    run = Run(
        run_id=run_id,
        status=RunStatus.QUEUED,
        trigger=origin.trigger,
        task=origin.task,
        commit=origin.commit,
        branch=origin.branch,
        base_image_update=origin.base_image_update,
        create_time=now,
        spec=BuildSpec(
            context=request.context or UPLOAD_CONTEXT,
            file=request.file or INLINE_TASK_FILE,
            no_push=True,
            timeout=request.timeout,
            values=tuple(request.values.items()),
            cmd=request.cmd,
        ),
    )
    if request.context is not None:
        check_context_reachable(request.context, services)
    else:
        services.contexts.upload(run_id, upload or _context_of(request.task_file))
    services.runs.insert(run)
    services.build_queue.send({"runId": run_id})
    return run


def _context_of(task_file: str | None) -> BinaryIO:
    """A context holding only the inline task file, or nothing (``cmd`` runs)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        if task_file is not None:
            data = task_file.encode("utf-8")
            info = tarfile.TarInfo(INLINE_TASK_FILE)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
