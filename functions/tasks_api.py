"""Tasks: PUT/GET/DELETE /api/tasks/{name}, GET /api/tasks, POST /api/tasks/{name}/runs."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.functions as func

from functions.http import handle, json_response
from shared.base_image_rebuilds import base_image_status, discovery_message
from shared.task_service import run_task_now, save_task
from shared.wiring import Adapters

bp = func.Blueprint()


@bp.route(route="tasks/{name}", methods=["PUT"], auth_level=func.AuthLevel.FUNCTION)
def put_task(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _put(req, adapters))


@bp.route(route="tasks/{name}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_task(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _get(req.route_params["name"], adapters))


@bp.route(route="tasks", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_tasks(req: func.HttpRequest) -> func.HttpResponse:
    return handle(
        req, lambda adapters: json_response({"tasks": [t.to_api() for t in adapters.tasks.list()]})
    )


@bp.route(route="tasks/{name}", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
def delete_task(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _delete(req.route_params["name"], adapters))


@bp.route(route="tasks/{name}/runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def run_task(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _run(req, adapters))


def _put(req: func.HttpRequest, adapters: Adapters) -> func.HttpResponse:
    task, etag, created = save_task(
        req.route_params["name"],
        req.get_body(),
        adapters.tasks,
        datetime.now(UTC),
        adapters.settings.registry,
        if_match=req.headers.get("if-match"),
        if_none_match=req.headers.get("if-none-match"),
        check_target=adapters.check_notification_target,
    )
    # A builder parses the Dockerfile now, so base updates count before the first run.
    adapters.build_queue.send(discovery_message(task.key))
    headers = {"ETag": etag, "Location": f"/api/tasks/{task.name}"}
    return json_response(task.to_api(), status=201 if created else 200, headers=headers)


def _get(name: str, adapters: Adapters) -> func.HttpResponse:
    task, etag = adapters.tasks.get(name)
    bases = base_image_status(task.key, adapters.base_images)
    return json_response({**task.to_api(), "baseImages": bases}, headers={"ETag": etag})


def _delete(name: str, adapters: Adapters) -> func.HttpResponse:
    adapters.tasks.delete(name)
    return func.HttpResponse(status_code=204)


def _run(req: func.HttpRequest, adapters: Adapters) -> func.HttpResponse:
    run = run_task_now(
        req.route_params["name"],
        req.get_body(),
        adapters.tasks,
        adapters.submission(),
        datetime.now(UTC),
    )
    location = f"/api/runs/{run.run_id}"
    return json_response(run.to_api(), status=202, headers={"Location": location})
