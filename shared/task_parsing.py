"""``PUT /api/tasks/{name}`` bodies, validated into a Task.

A PUT replaces the task, except for what the API never returns: ``webhookSecret``
and ``secretBuildArgs`` are kept when the body leaves them out, so a client can
GET, edit and PUT back without erasing them (send ``null`` / ``{}`` to clear).
Read-only fields of a GET answer are accepted and ignored for the same reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared.build_requests import parse_json_build_request
from shared.context_url import parse_context_url
from shared.errors import InvalidRequest
from shared.image_ref import parse_image_ref
from shared.notifications import parse_notifications
from shared.schedules import check_schedule
from shared.tasks import (
    BaseImageTriggerType,
    Credentials,
    HistoryLimits,
    RegistryCredential,
    Task,
    TaskSecrets,
    TaskStatus,
    TimerTrigger,
    Triggers,
)
from shared.templating import render_template, run_variables

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,48}[A-Za-z0-9]")
_TIMER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}")
_SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_BRANCH_PATTERN = re.compile(r"[^\x00-\x20\x7f~^:?\\]+")
_BUILD_FIELDS = ("context", "file", "images", "buildArgs", "noPush", "platform", "target",
                 "timeout")  # fmt: skip
_OWN_FIELDS = ("values", "status", "triggers", "supersedeQueuedRuns", "credentials",
               "webhookSecret", "secretBuildArgs", "notifications", "historyLimits")  # fmt: skip
_READ_ONLY = (
    "name", "secretBuildArgNames", "webhookSecretSet", "createTime", "updateTime", "baseImages",
)  # fmt: skip


def check_task_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"task name {name!r} is invalid: use 5 to 50 letters, digits and '-', "
            "starting and ending with a letter or digit"
        )


def parse_task(name: str, body: bytes, existing: Task | None, now: datetime, registry: str) -> Task:
    """The task ``body`` describes; ``existing`` supplies kept secrets and createTime."""
    check_task_name(name)
    data = _json_object(body)
    _check_fields(data, name)
    # The same checks as a quick build's; secret values are then kept apart from the build.
    fields = [*_BUILD_FIELDS, "secretBuildArgs"]
    build = parse_json_build_request(
        json.dumps({key: data[key] for key in fields if data.get(key) is not None}).encode()
    )
    notifications, notification_secrets = parse_notifications(data.get("notifications"), existing)
    secrets = _secrets(data, build.secret_build_args, existing)
    task = Task(
        name=existing.name if existing else name,
        build=replace(build, images=tuple(build.images), secret_build_args={}),
        values=_string_map(data, "values"),
        status=_member(data, "status", TaskStatus, TaskStatus.ENABLED),
        triggers=_triggers(_object(data, "triggers")),
        supersede_queued_runs=_boolean(data, "supersedeQueuedRuns", True),
        credentials=_credentials(_object(data, "credentials")),
        secrets=replace(secrets, notification_secrets=notification_secrets),
        create_time=existing.create_time if existing else now,
        update_time=now,
        notifications=notifications,
        history_limits=_history_limits(_object(data, "historyLimits")),
    )
    check_templates(task, registry)
    return task


def _check_fields(data: Mapping[str, Any], name: str) -> None:
    known = {*_BUILD_FIELDS, *_OWN_FIELDS, *_READ_ONLY}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) {', '.join(unknown)}; known fields: "
            f"{', '.join(sorted({*_BUILD_FIELDS, *_OWN_FIELDS}))}"
        )
    given = data.get("name")
    if given is not None and (not isinstance(given, str) or given.lower() != name.lower()):
        raise InvalidRequest(f"the body names task {given!r} but the URL names {name!r}")


def _triggers(data: Mapping[str, Any]) -> Triggers:
    commit = _object(data, "commit", "triggers.")
    pull_request = _object(data, "pullRequest", "triggers.")
    base_image = _object(data, "baseImage", "triggers.")
    _only(data, ("commit", "pullRequest", "baseImage", "timers"), "triggers")
    return Triggers(
        commit_enabled=_boolean(commit, "enabled", True, "triggers.commit."),
        commit_branches=_branches(commit.get("branches", [])),
        pull_request_enabled=_boolean(pull_request, "enabled", False, "triggers.pullRequest."),
        pull_request_push=_boolean(pull_request, "push", False, "triggers.pullRequest."),
        base_image_enabled=_boolean(base_image, "enabled", True, "triggers.baseImage."),
        base_image_type=_member(
            base_image, "type", BaseImageTriggerType, BaseImageTriggerType.RUNTIME
        ),
        timers=_timers(data.get("timers", [])),
    )


def _history_limits(data: Mapping[str, Any]) -> HistoryLimits:
    _only(data, ("succeeded", "failed"), "historyLimits")
    limits = {}
    for outcome in ("succeeded", "failed"):
        value = data.get(outcome)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise InvalidRequest(
                f"historyLimits.{outcome} must be a whole number of runs to keep (0 or more), "
                "or null to keep all"
            )
        limits[outcome] = value
    return HistoryLimits(**limits)


def _branches(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest('triggers.commit.branches must be a list like ["main", "release/*"]')
    for branch in value:
        if not _BRANCH_PATTERN.fullmatch(branch) or branch.startswith("-"):
            raise InvalidRequest(f"branch {branch!r} is not a valid branch name or pattern")
    return tuple(value)


def _timers(value: Any) -> tuple[TimerTrigger, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidRequest('timers must be a list like [{"name": "nightly", "schedule": …}]')
    timers = tuple(_timer(item, index) for index, item in enumerate(value))
    names = [timer.name.lower() for timer in timers]
    if len(set(names)) != len(names):
        raise InvalidRequest("timer names must be unique within a task")
    return timers


def _timer(data: Mapping[str, Any], index: int) -> TimerTrigger:
    prefix = f"triggers.timers[{index}]."
    _only(data, ("name", "schedule", "enabled"), prefix.rstrip("."))
    name = data.get("name", f"t{index + 1}")
    if not isinstance(name, str) or not _TIMER_NAME.fullmatch(name):
        raise InvalidRequest(f"{prefix}name {name!r} is invalid: letters, digits, '-', '_'")
    schedule = data.get("schedule")
    if not isinstance(schedule, str):
        raise InvalidRequest(f"{prefix}schedule is missing: give a cron expression")
    check_schedule(schedule)
    return TimerTrigger(name, " ".join(schedule.split()), _boolean(data, "enabled", True, prefix))


def _credentials(data: Mapping[str, Any]) -> Credentials:
    _only(data, ("git", "registries"), "credentials")
    git = _object(data, "git", "credentials.")
    _only(git, ("usernameSetting", "passwordSetting"), "credentials.git")
    registries = data.get("registries", [])
    if not isinstance(registries, list) or not all(isinstance(r, dict) for r in registries):
        raise InvalidRequest("credentials.registries must be a list of objects")
    return Credentials(
        git_username_setting=_setting(git, "usernameSetting", "credentials.git."),
        git_password_setting=_setting(git, "passwordSetting", "credentials.git."),
        registries=tuple(_registry_credential(item) for item in registries),
    )


def _registry_credential(data: Mapping[str, Any]) -> RegistryCredential:
    fields = ("loginServer", "usernameSetting", "passwordSetting")
    _only(data, fields, "credentials.registries[]")
    server = data.get("loginServer")
    if not isinstance(server, str) or not server or "/" in server:
        raise InvalidRequest("credentials.registries[].loginServer must be like myreg.azurecr.io")
    username = _setting(data, "usernameSetting", "credentials.registries[].")
    password = _setting(data, "passwordSetting", "credentials.registries[].")
    if not username or not password:
        raise InvalidRequest(
            "credentials.registries[] needs usernameSetting and passwordSetting: the names of "
            "settings holding the login (the values themselves are never sent to the API)"
        )
    return RegistryCredential(server, username, password)


def _setting(data: Mapping[str, Any], name: str, prefix: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _SETTING.fullmatch(value):
        raise InvalidRequest(
            f"{prefix}{name} must name a setting (letters, digits, '_'), like GIT_TOKEN; "
            "credentials are referenced by setting name, never sent as values"
        )
    return value


def _secrets(
    data: Mapping[str, Any], secret_args: dict[str, str], existing: Task | None
) -> TaskSecrets:
    kept = existing.secrets if existing else TaskSecrets()
    secret = kept.webhook_secret
    if "webhookSecret" in data:
        secret = data["webhookSecret"] or None
        if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
            raise InvalidRequest("webhookSecret must be a string of at least 16 characters")
    args = secret_args if "secretBuildArgs" in data else kept.secret_build_args
    return TaskSecrets(webhook_secret=secret, secret_build_args=dict(args))


def check_templates(task: Task, registry: str) -> None:
    """Fail at PUT, not at the first run, on an unknown ``{{.Run.X}}`` or a bad image.

    ``{{.Values.x}}`` may name values given only when a run starts, so any is accepted.
    """
    sample = _AnyValues(
        run_variables(
            run_id="dd1",
            registry=registry,
            now=datetime(2000, 1, 1, tzinfo=UTC),
            commit="0" * 40,
            branch="main",
            task_name=task.name,
            values=task.values,
        )  # fmt: skip
    )
    for value in task.build.build_args.values():
        render_template(value, sample)
    for image in task.build.images:
        parse_image_ref(render_template(image, sample), default_registry=registry)
    parse_context_url(task.build.context or "")


class _AnyValues(Mapping[str, str]):
    def __init__(self, known: dict[str, str]) -> None:
        self._known = known

    def __getitem__(self, key: str) -> str:
        return self._known.get(key, "value") if key.startswith("Values.") else self._known[key]

    def __contains__(self, key: object) -> bool:
        return key in self._known or (isinstance(key, str) and key.startswith("Values."))

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest('the body must be a JSON object such as {"context": "https://…"}')
    return data


def _object(data: Mapping[str, Any], name: str, prefix: str = "") -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{prefix}{name} must be an object")
    return value


def _only(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidRequest(f"{where}: unknown field(s) {', '.join(unknown)}; known: "
                             f"{', '.join(known)}")  # fmt: skip


def _boolean(data: Mapping[str, Any], name: str, default: bool, prefix: str = "") -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{prefix}{name} must be true or false")
    return value


def _member(data: Mapping[str, Any], name: str, enum: Any, default: Any) -> Any:
    value = data.get(name, default.value)
    known = [member.value for member in enum]
    if value not in known:
        raise InvalidRequest(f"{name} {value!r} is unknown; use one of {', '.join(known)}")
    return enum(value)


def _string_map(data: Mapping[str, Any], name: str) -> dict[str, str]:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be an object of names to string values")
    for key, item in value.items():
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise InvalidRequest(f"{name}.{key} must be a string, got {type(item).__name__}")
    return {key: str(item) for key, item in value.items()}
