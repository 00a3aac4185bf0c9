"""POST /api/runs — run a multi-step task file or one command (``az acr run``)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import azure.functions as func

from functions.builds_api import _ARCHIVE_TYPES
from functions.http import handle, json_response, query_pairs
from shared.archive import check_archive
from shared.errors import InvalidRequest, PayloadTooLarge
from shared.settings import MAX_BUILD_BODY_BYTES
from shared.taskfile.run_requests import (
    parse_json_run_request,
    parse_query_run_request,
    submit_task_run,
)
from shared.wiring import Adapters

bp = func.Blueprint()


@bp.route(route="runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def post_run(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _submit(req, adapters))


def _submit(req: func.HttpRequest, adapters: Adapters) -> func.HttpResponse:
    body = req.get_body()
    if len(body) > MAX_BUILD_BODY_BYTES:
        raise PayloadTooLarge("the body is over 100 MB: trim the context with a .dockerignore")
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    now = datetime.now(UTC)
    if content_type in _ARCHIVE_TYPES:
        request = parse_query_run_request(query_pairs(req))
        check_archive(io.BytesIO(body))
        run = submit_task_run(request, adapters.submission(), now, upload=io.BytesIO(body))
    elif content_type in ("application/json", ""):
        run = submit_task_run(parse_json_run_request(body), adapters.submission(), now)
    else:
        raise InvalidRequest(
            f"unsupported Content-Type {content_type!r}: send application/json or application/gzip"
        )
    location = f"/api/runs/{run.run_id}"
    return json_response(run.to_api(), status=202, headers={"Location": location})
