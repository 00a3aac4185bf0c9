"""POST /api/builds — a quick build (``az acr build``)."""

from __future__ import annotations

import azure.functions as func

from functions.http import handle
from functions.submissions import accept_submission
from shared.build_requests import parse_json_build_request, parse_query_build_request
from shared.submission import submit_build

bp = func.Blueprint()


@bp.route(route="builds", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def post_build(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: accept_submission(
        req, adapters.submission(), parse_json_build_request, parse_query_build_request,
        submit_build,
    ))  # fmt: skip
