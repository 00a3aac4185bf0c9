"""``drydock task create|update`` options into a ``PUT /api/tasks/{name}`` body.

Pure: the commands parse options, this builds the JSON, so both are testable
apart. Option names are ``az acr task``'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cli.build_request import parse_key_values

_READ_ONLY = ("name", "secretBuildArgNames", "webhookSecretSet", "createTime", "updateTime")


@dataclass(frozen=True)
class TaskOptions:
    """What the user gave; None or empty means "not given"."""

    context: str | None = None
    file: str | None = None
    images: Sequence[str] = ()
    args: Sequence[str] = ()
    secret_args: Sequence[str] = ()
    values: Sequence[str] = ()
    schedules: Sequence[str] = ()
    status: str | None = None
    timeout: int | None = None
    platform: str | None = None
    no_push: bool | None = None
    commit_trigger: bool | None = None
    branches: Sequence[str] = ()
    pull_request_trigger: bool | None = None
    base_image_trigger: bool | None = None
    base_image_trigger_type: str | None = None


def task_body(options: TaskOptions, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body to PUT: ``current`` (a GET answer, for update) with the options applied.

    Secret values are never read back, so ``--secret-arg`` on update replaces them all,
    and leaving it out keeps them (the server keeps what a PUT does not mention).
    """
    body = {k: v for k, v in copy.deepcopy(dict(current or {})).items() if k not in _READ_ONLY}
    _set(body, "context", options.context)
    _set(body, "file", options.file)
    _set(body, "status", options.status)
    _set(body, "timeout", options.timeout)
    _set(body, "platform", options.platform)
    _set(body, "noPush", options.no_push)
    if options.images:
        body["images"] = list(options.images)
    body["buildArgs"] = {**body.get("buildArgs", {}), **parse_key_values(options.args, "--arg")}
    body["values"] = {**body.get("values", {}), **parse_key_values(options.values, "--set")}
    if options.secret_args:
        body["secretBuildArgs"] = parse_key_values(options.secret_args, "--secret-arg")
    body["triggers"] = _triggers(options, body.get("triggers") or {})
    return body


def _triggers(options: TaskOptions, current: Mapping[str, Any]) -> dict[str, Any]:
    triggers = {key: dict(value) if isinstance(value, dict) else value
                for key, value in current.items()}  # fmt: skip
    commit = triggers.setdefault("commit", {})
    _set(commit, "enabled", options.commit_trigger)
    if options.branches:
        commit["branches"] = list(options.branches)
    _set(triggers.setdefault("pullRequest", {}), "enabled", options.pull_request_trigger)
    base = triggers.setdefault("baseImage", {})
    _set(base, "enabled", options.base_image_trigger)
    _set(base, "type", options.base_image_trigger_type)
    if options.schedules:
        triggers["timers"] = [
            {"name": f"t{index}", "schedule": schedule, "enabled": True}
            for index, schedule in enumerate(options.schedules, start=1)
        ]
    return triggers


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value
