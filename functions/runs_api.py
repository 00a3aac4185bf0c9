"""Reading runs and their logs: GET /api/runs, /api/runs/{runId}, /api/runs/{runId}/logs."""

from __future__ import annotations

from enum import StrEnum

import azure.functions as func

from functions.http import handle, json_response, query_pairs
from shared.errors import InvalidRequest
from shared.runs import RunStatus, Trigger
from shared.wiring import Adapters

bp = func.Blueprint()

MAX_TOP = 1000


@bp.route(route="runs/{runId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["runId"]
    return handle(req, lambda adapters: json_response(adapters.runs.get(run_id)[0].to_api()))


@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _list(dict(query_pairs(req)), adapters))


@bp.route(route="runs/{runId}/logs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_run_log(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["runId"]
    return handle(req, lambda adapters: _log(run_id, dict(query_pairs(req)), adapters))


def _list(query: dict[str, str], adapters: Adapters) -> func.HttpResponse:
    status = _member(query.get("status"), RunStatus, "status")
    trigger = _member(query.get("trigger"), Trigger, "trigger")
    top = _whole(query.get("top", "100"), "top", 1, MAX_TOP)
    runs = adapters.runs.list(
        task=query.get("task") or None, status=status, trigger=trigger, top=top
    )
    return json_response({"runs": [run.to_api() for run in runs]})


def _log(run_id: str, query: dict[str, str], adapters: Adapters) -> func.HttpResponse:
    offset = _whole(query.get("offset", "0"), "offset", 0, 2**62)
    # Status first: once a run is terminal its log is complete, so a client that
    # sees a terminal status and no new bytes has the whole log.
    run, _ = adapters.runs.get(run_id)
    data = adapters.logs.read(run_id, offset)
    return func.HttpResponse(
        data,
        status_code=200,
        mimetype="text/plain",
        charset="utf-8",
        headers={"X-Log-Offset": str(offset + len(data)), "X-Run-Status": run.status.value},
    )


def _member(value: str | None, enum: type[StrEnum], name: str) -> str | None:
    if not value:
        return None
    known = [member.value for member in enum]
    if value not in known:
        raise InvalidRequest(f"{name} {value!r} is unknown; use one of {', '.join(known)}")
    return value


def _whole(value: str, name: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}")
    return int(value)
