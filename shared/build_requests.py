"""``POST /api/builds`` input in both forms of the contract, validated.

The JSON form names a remote context; the tar form carries the context as the
body and the options as query parameters. Both become one ``BuildRequest``.
Nothing here does I/O: callers hand in bytes and parsed query pairs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.context_url import parse_context_url
from shared.errors import InvalidRequest
from shared.request_fields import (
    boolean,
    check_file,
    json_object,
    pairs,
    string_field,
    string_list,
    string_map,
    timeout_seconds,
)

_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_JSON_FIELDS = {
    "context", "file", "images", "buildArgs", "secretBuildArgs",
    "noPush", "platform", "target", "timeout",
}  # fmt: skip


@dataclass(frozen=True)
class BuildRequest:
    context: str | None  # None: the context is the uploaded body
    file: str = "Dockerfile"
    images: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    secret_build_args: dict[str, str] = field(default_factory=dict)
    no_push: bool = False
    platform: str | None = None
    target: str | None = None
    timeout: int = 3600


def parse_json_build_request(body: bytes) -> BuildRequest:
    data = json_object(body)
    unknown = sorted(set(data) - _JSON_FIELDS)
    if unknown:
        known = ", ".join(sorted(_JSON_FIELDS))
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known fields: {known}")
    context = string_field(data, "context", required=True) or ""
    parse_context_url(context)
    return _validated(
        context=context,
        file=string_field(data, "file") or "Dockerfile",
        images=string_list(data, "images"),
        build_args=string_map(data, "buildArgs"),
        secret_build_args=string_map(data, "secretBuildArgs"),
        no_push=boolean(data.get("noPush", False), "noPush"),
        platform=string_field(data, "platform"),
        target=string_field(data, "target"),
        timeout=timeout_seconds(data.get("timeout", 3600)),
    )


def parse_query_build_request(query: Sequence[tuple[str, str]]) -> BuildRequest:
    """The tar-body form: ``image`` and ``buildArg``/``secretBuildArg`` repeat."""
    known = {"image", "file", "buildArg", "secretBuildArg", "noPush", "platform", "target",
             "timeout", "code"}  # fmt: skip
    unknown = sorted({name for name, _ in query} - known)
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s) {', '.join(unknown)}")
    single = {name: value for name, value in query}
    return _validated(
        context=None,
        file=single.get("file") or "Dockerfile",
        images=[value for name, value in query if name == "image"],
        build_args=pairs([v for n, v in query if n == "buildArg"], "buildArg"),
        secret_build_args=pairs([v for n, v in query if n == "secretBuildArg"], "secretBuildArg"),
        no_push=boolean(single.get("noPush", "false"), "noPush"),
        platform=single.get("platform") or None,
        target=single.get("target") or None,
        timeout=timeout_seconds(single.get("timeout", "3600")),
    )


def _validated(**fields: Any) -> BuildRequest:
    request = BuildRequest(**fields)
    check_file(request.file)
    for name in [*request.build_args, *request.secret_build_args]:
        if not _ARG_NAME.match(name):
            raise InvalidRequest(f"build arg name {name!r} is invalid: use letters, digits and _")
    if request.platform and not _PLATFORM.match(request.platform):
        raise InvalidRequest(f"platform {request.platform!r} is invalid: use e.g. linux/amd64")
    if request.target and not _TARGET.match(request.target):
        raise InvalidRequest(f"target {request.target!r} is not a valid stage name")
    if any(not image.strip() for image in request.images):
        raise InvalidRequest("an image reference is empty: give e.g. myapp:{{.Run.ID}}")
    return request
