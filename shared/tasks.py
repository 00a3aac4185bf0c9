"""The task: a saved build or multi-step run over a durable context, and its triggers.

Defaults follow ACR: commit trigger on, pull-request trigger off, base-image trigger
on (``Runtime``). Secrets a task holds (its own webhook secret, secret build-arg
values) live in ``TaskSecrets`` and never appear in ``to_api``; credentials are
references to settings by name, so the API never holds a credential's value.
``shared/task_parsing.py`` turns a request body into a Task.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.build_requests import BuildRequest
from shared.context_url import GitContext, parse_context_url
from shared.repo_urls import repo_key
from shared.runs import RunStatus


class TaskStatus(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class BaseImageTriggerType(StrEnum):
    RUNTIME = "Runtime"
    ALL = "All"


@dataclass(frozen=True)
class TimerTrigger:
    name: str
    schedule: str
    enabled: bool = True

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "schedule": self.schedule, "enabled": self.enabled}


@dataclass(frozen=True)
class Triggers:
    commit_enabled: bool = True
    commit_branches: tuple[str, ...] = ()
    """Branch names or globs (``release/*``); empty: the context's ref, else the
    repository's default branch."""
    pull_request_enabled: bool = False
    pull_request_push: bool = False
    """Whether pull-request runs push their images; off, as a PR's code is unreviewed."""
    base_image_enabled: bool = True
    base_image_type: BaseImageTriggerType = BaseImageTriggerType.RUNTIME
    timers: tuple[TimerTrigger, ...] = ()

    def to_api(self) -> dict[str, Any]:
        return {
            "commit": {"enabled": self.commit_enabled, "branches": list(self.commit_branches)},
            "pullRequest": {"enabled": self.pull_request_enabled, "push": self.pull_request_push},
            "baseImage": {"enabled": self.base_image_enabled, "type": self.base_image_type.value},
            "timers": [timer.to_api() for timer in self.timers],
        }


@dataclass(frozen=True)
class RegistryCredential:
    """A registry's login, as the names of the settings that hold it."""

    login_server: str
    username_setting: str
    password_setting: str

    def to_api(self) -> dict[str, str]:
        return {
            "loginServer": self.login_server,
            "usernameSetting": self.username_setting,
            "passwordSetting": self.password_setting,
        }


@dataclass(frozen=True)
class Credentials:
    git_username_setting: str | None = None
    git_password_setting: str | None = None
    """A token or password for a private repository, by setting name."""
    registries: tuple[RegistryCredential, ...] = ()

    def to_api(self) -> dict[str, Any]:
        git = None
        if self.git_password_setting:
            git = {
                "usernameSetting": self.git_username_setting,
                "passwordSetting": self.git_password_setting,
            }
        return {"git": git, "registries": [cred.to_api() for cred in self.registries]}


@dataclass(frozen=True)
class NotificationTarget:
    """Where a task's finished runs are announced (``shared/notifications.py``); its
    signing secret, if any, is in ``TaskSecrets.notification_secrets``."""

    url: str
    on: tuple[RunStatus, ...]

    def to_api(self, secret_set: bool) -> dict[str, Any]:
        return {
            "url": self.url,
            "on": [status.value for status in self.on],
            "secretSet": secret_set,
        }


@dataclass(frozen=True)
class HistoryLimits:
    """How many finished runs of each outcome retention keeps per task; None: all."""

    succeeded: int | None = None
    failed: int | None = None

    def to_api(self) -> dict[str, int | None]:
        return {"succeeded": self.succeeded, "failed": self.failed}


@dataclass(frozen=True)
class TaskSecrets:
    """Values a task keeps but the API never returns."""

    webhook_secret: str | None = None
    secret_build_args: dict[str, str] = field(default_factory=dict)
    notification_secrets: tuple[str | None, ...] = ()
    """One per ``Task.notifications`` entry, in order; None: sign with the shared secret."""


@dataclass(frozen=True)
class Task:
    name: str
    build: BuildRequest
    """What each run builds; ``build.secret_build_args`` is always empty here."""
    values: dict[str, str] = field(default_factory=dict)
    status: TaskStatus = TaskStatus.ENABLED
    triggers: Triggers = field(default_factory=Triggers)
    supersede_queued_runs: bool = True
    credentials: Credentials = field(default_factory=Credentials)
    secrets: TaskSecrets = field(default_factory=TaskSecrets)
    create_time: datetime | None = None
    update_time: datetime | None = None
    notifications: tuple[NotificationTarget, ...] = ()
    history_limits: HistoryLimits = field(default_factory=HistoryLimits)

    @property
    def key(self) -> str:
        """Task names are case-insensitive, as in ACR."""
        return self.name.lower()

    @property
    def enabled(self) -> bool:
        return self.status is TaskStatus.ENABLED

    @property
    def repo_key(self) -> str | None:
        """The repository key webhooks match on; None for a tarball context."""
        context = self.build.context or ""
        return repo_key(context) if isinstance(parse_context_url(context), GitContext) else None

    def follows_branch(self, branch: str, default_branch: str | None) -> bool:
        """Whether a push to ``branch`` (or a PR into it) concerns this task."""
        patterns = self.triggers.commit_branches or self._default_branches(default_branch)
        return any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns)

    def _default_branches(self, default_branch: str | None) -> tuple[str, ...]:
        source = parse_context_url(self.build.context or "")
        ref = source.ref if isinstance(source, GitContext) else None
        if ref:
            return (ref.removeprefix("refs/heads/"),)
        return (default_branch,) if default_branch else ()

    def notification_secret(self, index: int) -> str | None:
        """The own signing secret of ``notifications[index]``, if it has one."""
        secrets = self.secrets.notification_secrets
        return secrets[index] if 0 <= index < len(secrets) else None

    def run_request(self, pull_request: bool = False) -> BuildRequest:
        """The build a run of this task submits, secrets included."""
        no_push = self.build.no_push or (pull_request and not self.triggers.pull_request_push)
        return replace(
            self.build, secret_build_args=dict(self.secrets.secret_build_args), no_push=no_push
        )

    def to_api(self) -> dict[str, Any]:
        build = self.build
        return {
            "name": self.name,
            "context": build.context,
            "file": build.file,
            "images": list(build.images),
            "buildArgs": dict(build.build_args),
            "secretBuildArgNames": sorted(self.secrets.secret_build_args),
            "values": dict(self.values),
            "noPush": build.no_push,
            "platform": build.platform,
            "target": build.target,
            "timeout": build.timeout,
            "status": self.status.value,
            "triggers": self.triggers.to_api(),
            "supersedeQueuedRuns": self.supersede_queued_runs,
            "credentials": self.credentials.to_api(),
            "webhookSecretSet": bool(self.secrets.webhook_secret),
            "notifications": [
                target.to_api(secret_set=bool(self.notification_secret(index)))
                for index, target in enumerate(self.notifications)
            ],
            "historyLimits": self.history_limits.to_api(),
            "createTime": _iso(self.create_time),
            "updateTime": _iso(self.update_time),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
