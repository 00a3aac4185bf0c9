"""GET /api/health — anonymous liveness plus a storage round trip."""

from __future__ import annotations

import azure.functions as func

from functions.http import handle, json_response
from shared.wiring import Adapters

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, _health, key_required=False)


def _health(adapters: Adapters) -> func.HttpResponse:
    adapters.build_queue.ensure_queue()
    return json_response({"status": "ok", "registry": adapters.settings.registry})
