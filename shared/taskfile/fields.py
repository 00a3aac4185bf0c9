"""Typed reads of YAML values, each refusal naming the line and the key."""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidRequest
from shared.taskfile.yaml_loader import LineMap

MAX_SECONDS = 28800
MAX_REPEATS = 100


def fail(line: int, message: str) -> InvalidRequest:
    return InvalidRequest(f"line {line}: {message}")


def check_keys(data: LineMap, known: frozenset[str], what: str) -> None:
    for key in data:
        if key not in known:
            raise fail(
                data.line_of(key),
                f"unknown {what} property {key!r}; known: {', '.join(sorted(known))}",
            )


def text(data: LineMap, key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # YAML reads `version: 1` or `user: 1000` as numbers
    raise fail(data.line_of(key), f"{key} must be text, got {_type(value)}")


def flag(data: LineMap, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise fail(data.line_of(key), f"{key} must be true or false, got {_type(value)}")
    return value


def whole(data: LineMap, key: str, default: int, low: int = 0, high: int = MAX_SECONDS) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(data.line_of(key), f"{key} must be a whole number, got {_type(value)}")
    if not low <= value <= high:
        raise fail(data.line_of(key), f"{key} must be between {low} and {high}, got {value}")
    return value


def texts(data: LineMap, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(data.line_of(key), f"{key} must be a list, got {_type(value)}")
    for item in value:
        if isinstance(item, (bool, list, dict)) or item is None:
            raise fail(data.line_of(key), f"each item of {key} must be text, got {_type(item)}")
    return tuple(str(item) for item in value)


def env_list(data: LineMap, key: str) -> tuple[str, ...]:
    items = texts(data, key)
    for item in items:
        if not item.partition("=")[0] or "=" not in item:
            raise fail(data.line_of(key), f"{key} entry {item!r} must look like NAME=value")
    return items


def mappings(data: LineMap, key: str) -> list[LineMap]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, LineMap) for item in value):
        raise fail(data.line_of(key), f"{key} must be a list of objects")
    return value


def _type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text",
             list: "a list", LineMap: "an object", type(None): "nothing"}  # fmt: skip
    return names.get(type(value), type(value).__name__)
