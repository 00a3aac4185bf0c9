"""Task <-> Table entity mapping. The definition is one JSON column in the API's
shape; secrets sit in their own column; ``repoKey`` and ``status`` are plain
columns so webhook matching can filter with OData."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.build_requests import BuildRequest
from shared.runs import RunStatus
from shared.tasks import (
    BaseImageTriggerType,
    Credentials,
    HistoryLimits,
    NotificationTarget,
    RegistryCredential,
    Task,
    TaskSecrets,
    TaskStatus,
    TimerTrigger,
    Triggers,
)

PARTITION = "task"


def task_to_entity(task: Task) -> dict[str, Any]:
    secrets = {
        "webhookSecret": task.secrets.webhook_secret,
        "secretBuildArgs": task.secrets.secret_build_args,
        "notificationSecrets": list(task.secrets.notification_secrets),
    }
    return {
        "PartitionKey": PARTITION,
        "RowKey": task.key,
        "name": task.name,
        "repoKey": task.repo_key or "",
        "status": task.status.value,
        "definition": json.dumps(task.to_api()),
        "secrets": json.dumps(secrets),
        "createTime": task.create_time,
        "updateTime": task.update_time,
    }


def entity_to_task(entity: dict[str, Any]) -> Task:
    data = json.loads(entity["definition"])
    secrets = json.loads(entity.get("secrets") or "{}")
    return Task(
        name=entity["name"],
        build=_build(data),
        values=dict(data.get("values") or {}),
        status=TaskStatus(entity["status"]),
        triggers=_triggers(data["triggers"]),
        supersede_queued_runs=bool(data.get("supersedeQueuedRuns", True)),
        credentials=_credentials(data.get("credentials") or {}),
        secrets=TaskSecrets(
            webhook_secret=secrets.get("webhookSecret"),
            secret_build_args=dict(secrets.get("secretBuildArgs") or {}),
            notification_secrets=tuple(secrets.get("notificationSecrets") or ()),
        ),
        create_time=_time(entity.get("createTime")),
        update_time=_time(entity.get("updateTime")),
        notifications=tuple(
            NotificationTarget(n["url"], tuple(RunStatus(status) for status in n["on"]))
            for n in data.get("notifications") or ()
        ),
        history_limits=HistoryLimits(**(data.get("historyLimits") or {})),
    )


def _build(data: dict[str, Any]) -> BuildRequest:
    return BuildRequest(
        context=data["context"],
        file=data.get("file") or "Dockerfile",
        images=tuple(data.get("images") or ()),
        build_args=dict(data.get("buildArgs") or {}),
        no_push=bool(data.get("noPush")),
        platform=data.get("platform"),
        target=data.get("target"),
        timeout=int(data.get("timeout") or 3600),
    )


def _triggers(data: dict[str, Any]) -> Triggers:
    commit, pull, base = data["commit"], data["pullRequest"], data["baseImage"]
    return Triggers(
        commit_enabled=bool(commit["enabled"]),
        commit_branches=tuple(commit.get("branches") or ()),
        pull_request_enabled=bool(pull["enabled"]),
        pull_request_push=bool(pull.get("push")),
        base_image_enabled=bool(base["enabled"]),
        base_image_type=BaseImageTriggerType(base["type"]),
        timers=tuple(
            TimerTrigger(t["name"], t["schedule"], bool(t["enabled"])) for t in data["timers"]
        ),
    )


def _credentials(data: dict[str, Any]) -> Credentials:
    git = data.get("git") or {}
    return Credentials(
        git_username_setting=git.get("usernameSetting"),
        git_password_setting=git.get("passwordSetting"),
        registries=tuple(
            RegistryCredential(r["loginServer"], r["usernameSetting"], r["passwordSetting"])
            for r in data.get("registries") or ()
        ),
    )


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
