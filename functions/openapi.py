"""GET /api/openapi.json — the REST API and webhooks as an OpenAPI 3 document, anonymous.

The document is a file beside this module, read once: it is the contract's
machine-readable twin, checked against the app's routes by tests/unit/test_openapi.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import azure.functions as func

bp = func.Blueprint()

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(_document(), status_code=200, mimetype="application/json")
