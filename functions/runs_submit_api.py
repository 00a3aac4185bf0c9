"""POST /api/runs — run a multi-step task file or one command (``az acr run``)."""

from __future__ import annotations

import azure.functions as func

from functions.http import handle
from functions.submissions import accept_submission
from shared.taskfile.run_requests import (
    parse_json_run_request,
    parse_query_run_request,
    submit_task_run,
)

bp = func.Blueprint()


@bp.route(route="runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def post_run(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: accept_submission(
        req, adapters.submission(), parse_json_run_request, parse_query_run_request,
        submit_task_run,
    ))  # fmt: skip
