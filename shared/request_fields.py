"""Fields of request bodies and query strings, checked one by one. Pure.

Shared by every request parser, so that a wrong type or a malformed ``K=V``
gets the same message whichever route it was sent to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.errors import InvalidRequest

MAX_TIMEOUT = 28800


def check_file(path: str) -> None:
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "-")) or ".." in parts or "\x00" in path:
        raise InvalidRequest(f"file {path!r} must be a path inside the context, like Dockerfile")


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest('the body must be a JSON object such as {"context": "https://…"}')
    return data


def string_field(data: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is missing: give a Git URL or an http(s) .tar.gz URL")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string, got {type(value).__name__}")
    return value


def string_list(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f'{name} must be a list of strings like ["app:v1"]')
    return value


def string_map(data: Mapping[str, Any], name: str) -> dict[str, str]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be an object of names to string values")
    for key, item in value.items():
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise InvalidRequest(f"{name}.{key} must be a string, got {type(item).__name__}")
    return {key: str(item) for key, item in value.items()}


def pairs(values: list[str], name: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"{name} {value!r} must look like NAME=value")
        result[key] = item
    return result


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    raise InvalidRequest(f"{name} must be true or false")


def timeout_seconds(value: Any) -> int:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"timeout must be a whole number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not 1 <= seconds <= MAX_TIMEOUT:
        raise InvalidRequest(f"timeout must be between 1 and {MAX_TIMEOUT} seconds")
    return seconds
