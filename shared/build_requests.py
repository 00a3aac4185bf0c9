"""``POST /api/builds`` input in both forms of the contract, validated.

The JSON form names a remote context; the tar form carries the context as the
body and the options as query parameters. Both become one ``BuildRequest``.
Nothing here does I/O: callers hand in bytes and parsed query pairs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.context_url import parse_context_url
from shared.errors import InvalidRequest

MAX_TIMEOUT = 28800
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
    data = _json_object(body)
    unknown = sorted(set(data) - _JSON_FIELDS)
    if unknown:
        known = ", ".join(sorted(_JSON_FIELDS))
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; known fields: {known}")
    context = _string(data, "context", required=True) or ""
    parse_context_url(context)
    return _validated(
        context=context,
        file=_string(data, "file") or "Dockerfile",
        images=_string_list(data, "images"),
        build_args=_string_map(data, "buildArgs"),
        secret_build_args=_string_map(data, "secretBuildArgs"),
        no_push=_boolean(data.get("noPush", False), "noPush"),
        platform=_string(data, "platform"),
        target=_string(data, "target"),
        timeout=_timeout(data.get("timeout", 3600)),
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
        build_args=_pairs([v for n, v in query if n == "buildArg"], "buildArg"),
        secret_build_args=_pairs([v for n, v in query if n == "secretBuildArg"], "secretBuildArg"),
        no_push=_boolean(single.get("noPush", "false"), "noPush"),
        platform=single.get("platform") or None,
        target=single.get("target") or None,
        timeout=_timeout(single.get("timeout", "3600")),
    )


def _validated(**fields: Any) -> BuildRequest:
    request = BuildRequest(**fields)
    _check_file(request.file)
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


def _check_file(path: str) -> None:
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "-")) or ".." in parts or "\x00" in path:
        raise InvalidRequest(f"file {path!r} must be a path inside the context, like Dockerfile")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest('the body must be a JSON object such as {"context": "https://…"}')
    return data


def _string(data: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is missing: give a Git URL or an http(s) .tar.gz URL")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string, got {type(value).__name__}")
    return value


def _string_list(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f'{name} must be a list of strings like ["app:v1"]')
    return value


def _string_map(data: Mapping[str, Any], name: str) -> dict[str, str]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be an object of names to string values")
    for key, item in value.items():
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise InvalidRequest(f"{name}.{key} must be a string, got {type(item).__name__}")
    return {key: str(item) for key, item in value.items()}


def _pairs(values: list[str], name: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"{name} {value!r} must look like NAME=value")
        result[key] = item
    return result


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    raise InvalidRequest(f"{name} must be true or false")


def _timeout(value: Any) -> int:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"timeout must be a whole number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not 1 <= seconds <= MAX_TIMEOUT:
        raise InvalidRequest(f"timeout must be between 1 and {MAX_TIMEOUT} seconds")
    return seconds
