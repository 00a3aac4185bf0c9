"""What ``POST /api/builds`` and ``POST /api/runs`` share: a JSON body naming a
remote context, or a gzipped tar of the context with the options in the query."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

import azure.functions as func

from functions.http import json_response, query_pairs
from shared.archive import check_archive
from shared.errors import InvalidRequest, PayloadTooLarge
from shared.runs import Run
from shared.settings import MAX_BUILD_BODY_BYTES
from shared.submission import SubmissionServices

ARCHIVE_TYPES = (
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/octet-stream",
)

Submit = Callable[[Any, SubmissionServices, datetime, BinaryIO | None], Run]


def accept_submission(
    req: func.HttpRequest,
    services: SubmissionServices,
    parse_json: Callable[[bytes], Any],
    parse_query: Callable[[Sequence[tuple[str, str]]], Any],
    submit: Submit,
) -> func.HttpResponse:
    """Parse either form, queue the run, answer 202 with it and its Location."""
    body = req.get_body()
    if len(body) > MAX_BUILD_BODY_BYTES:
        raise PayloadTooLarge("the body is over 100 MB: trim the context with a .dockerignore")
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    now = datetime.now(UTC)
    if content_type in ARCHIVE_TYPES:
        request = parse_query(query_pairs(req))
        check_archive(io.BytesIO(body))
        run = submit(request, services, now, io.BytesIO(body))
    elif content_type in ("application/json", ""):
        run = submit(parse_json(body), services, now, None)
    else:
        raise InvalidRequest(
            f"unsupported Content-Type {content_type!r}: send application/json or application/gzip"
        )
    location = f"/api/runs/{run.run_id}"
    return json_response(run.to_api(), status=202, headers={"Location": location})
