"""Changing a run from outside: POST /api/runs/{runId}/cancel, PATCH /api/runs/{runId}."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from functions.http import handle, json_response
from shared.errors import InvalidRequest, TransientError
from shared.run_events import outcome_event
from shared.wiring import Adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.route(route="runs/{runId}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def cancel_run(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["runId"]
    return handle(req, lambda adapters: _cancel(run_id, adapters))


@bp.route(route="runs/{runId}", methods=["PATCH"], auth_level=func.AuthLevel.FUNCTION)
def update_run(req: func.HttpRequest) -> func.HttpResponse:
    run_id = req.route_params["runId"]
    return handle(req, lambda adapters: _update(run_id, req.get_body(), adapters))


def _cancel(run_id: str, adapters: Adapters) -> func.HttpResponse:
    # The record is the signal: a builder holding the run polls it and stops
    # the containers; a queued message is dropped when a builder sees it ended.
    run = adapters.runs.update(run_id, lambda current: current.canceled(datetime.now(UTC)))
    # A builder reports only outcomes it wrote itself; this one goes out from here so the
    # run-events function announces it (notifications) like any other end.
    try:
        adapters.events_queue.send(outcome_event(run))
    except TransientError as exc:
        log.warning("run %s canceled, but its run event could not be sent: %s", run_id, exc)
    return json_response(run.to_api())


def _update(run_id: str, body: bytes, adapters: Adapters) -> func.HttpResponse:
    archived = _archived_flag(body)
    run = adapters.runs.update(run_id, lambda current: current.with_archived(archived))
    return json_response(run.to_api())


def _archived_flag(body: bytes) -> bool:
    try:
        data: Any = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise InvalidRequest('the body is not valid JSON; send {"archived": true}') from None
    if not isinstance(data, dict) or set(data) != {"archived"}:
        raise InvalidRequest(
            'send {"archived": true} or {"archived": false}: only archived can change'
        )
    if not isinstance(data["archived"], bool):
        raise InvalidRequest("archived must be true or false")
    return data["archived"]
