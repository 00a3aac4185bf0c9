"""What every HTTP function shares: the key check, JSON answers, and the one
place where domain errors become HTTP statuses."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from shared.errors import ConfigurationError, DrydockError, Unauthorized
from shared.wiring import Adapters, default_adapters

log = logging.getLogger(__name__)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, headers=headers, mimetype="application/json"
    )


def error_response(exc: DrydockError) -> func.HttpResponse:
    return json_response({"error": str(exc)}, status=exc.http_status)


def query_pairs(req: func.HttpRequest) -> list[tuple[str, str]]:
    """Every query parameter in order, repeats kept (``req.params`` keeps one)."""
    return parse_qsl(urlsplit(req.url).query, keep_blank_values=True)


def check_api_key(req: func.HttpRequest, expected: str) -> None:
    """Also enforced here, not only by the host: ``func start`` skips key checks."""
    if not expected:
        raise ConfigurationError("DRYDOCK_API_KEY is not set on the server")
    given = req.headers.get("x-functions-key") or dict(query_pairs(req)).get("code") or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("missing or wrong API key: send it in the x-functions-key header")


def handle(
    req: func.HttpRequest,
    action: Callable[[Adapters], func.HttpResponse],
    *,
    key_required: bool = True,
) -> func.HttpResponse:
    """Run ``action`` with the adapters; map DrydockError to its status."""
    try:
        adapters = default_adapters()
        if key_required:
            check_api_key(req, adapters.settings.api_key)
        return action(adapters)
    except DrydockError as exc:
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", req.method, req.url, exc)
        return error_response(exc)
