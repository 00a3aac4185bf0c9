"""The run: Drydock's record of one build or multi-step execution.

Status transitions live here and only here; adapters persist what this module
decides. ``Run.to_api`` is the outside contract's shape (DESIGN.md "Run:").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.errors import Conflict


class RunStatus(StrEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"
    ERROR = "Error"
    TIMEOUT = "Timeout"

    @property
    def is_terminal(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class Trigger(StrEnum):
    MANUAL = "Manual"
    COMMIT = "Commit"
    PULL_REQUEST = "PullRequest"
    BASE_IMAGE_UPDATE = "BaseImageUpdate"
    TIMER = "Timer"


# Running -> Running is a retake: the previous builder's lease lapsed mid-run.
_ALLOWED = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.CANCELED, RunStatus.ERROR},
    RunStatus.RUNNING: {
        RunStatus.RUNNING,
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELED,
        RunStatus.ERROR,
        RunStatus.TIMEOUT,
    },
}


def check_transition(current: RunStatus, new: RunStatus) -> None:
    """Raise Conflict unless a run may move from ``current`` to ``new``."""
    if new not in _ALLOWED.get(current, set()):
        raise Conflict(f"a {current.value} run cannot become {new.value}")


@dataclass(frozen=True)
class ImageOutput:
    registry: str
    repository: str
    tag: str
    digest: str | None = None

    @property
    def reference(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    def to_api(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class BaseImageUse:
    image: str
    digest: str | None

    def to_api(self) -> dict[str, Any]:
        return {"image": self.image, "digest": self.digest}


@dataclass(frozen=True)
class Dependencies:
    runtime: BaseImageUse | None = None
    buildtime: tuple[BaseImageUse, ...] = ()

    def to_api(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime.to_api() if self.runtime else None,
            "buildtime": [use.to_api() for use in self.buildtime],
        }


@dataclass(frozen=True)
class BuildSpec:
    """What the builder is asked to do; secret values are never part of it."""

    context: str
    file: str = "Dockerfile"
    build_args: tuple[tuple[str, str], ...] = ()
    secret_arg_names: tuple[str, ...] = ()
    no_push: bool = False
    platform: str | None = None
    target: str | None = None
    timeout: int = 3600
    values: tuple[tuple[str, str], ...] = ()
    """Task-file values (``{{.Values.x}}``): ``values`` and ``set`` of ``az acr run``."""
    cmd: str | None = None
    """``az acr run --cmd``: one container, ``image args…``, instead of a file."""

    @property
    def is_multi_step(self) -> bool:
        """A task YAML or a single command, as opposed to a Dockerfile build."""
        return self.cmd is not None or self.file.lower().endswith((".yaml", ".yml"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "file": self.file,
            "buildArgs": dict(self.build_args),
            "secretBuildArgNames": list(self.secret_arg_names),
            "noPush": self.no_push,
            "platform": self.platform,
            "target": self.target,
            "timeout": self.timeout,
            "values": dict(self.values),
            "cmd": self.cmd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildSpec:
        return cls(
            context=data["context"],
            file=data.get("file") or "Dockerfile",
            build_args=tuple((data.get("buildArgs") or {}).items()),
            secret_arg_names=tuple(data.get("secretBuildArgNames") or ()),
            no_push=bool(data.get("noPush")),
            platform=data.get("platform"),
            target=data.get("target"),
            timeout=int(data.get("timeout") or 3600),
            values=tuple((data.get("values") or {}).items()),
            cmd=data.get("cmd"),
        )


@dataclass(frozen=True)
class Run:
    run_id: str
    status: RunStatus
    trigger: Trigger
    create_time: datetime
    spec: BuildSpec
    task: str | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    commit: str | None = None
    branch: str | None = None
    images: tuple[ImageOutput, ...] = ()
    dependencies: Dependencies = field(default_factory=Dependencies)
    base_image_update: dict[str, str] | None = None
    archived: bool = False
    error: str | None = None
    attempt: int = 0
    steps: tuple[dict[str, Any], ...] = ()
    lease_until: datetime | None = None
    """While Running: the builder holding it renews this; once it passes, the
    holder is presumed dead and a redelivered message may retake the run."""

    def started(self, now: datetime, lease: timedelta | None = None) -> Run:
        check_transition(self.status, RunStatus.RUNNING)
        return replace(
            self,
            status=RunStatus.RUNNING,
            start_time=now,
            attempt=self.attempt + 1,
            error=None,
            lease_until=now + lease if lease else None,
        )

    def finished(
        self, status: RunStatus, now: datetime, error: str | None = None, **changes: Any
    ) -> Run:
        check_transition(self.status, status)
        return replace(
            self, status=status, finish_time=now, error=error, lease_until=None, **changes
        )

    def canceled(self, now: datetime) -> Run:
        """The run as a user's cancel leaves it; Conflict once it has ended."""
        if self.status.is_terminal:
            raise Conflict(
                f"run {self.run_id} already ended as {self.status.value}; "
                "only Queued or Running runs can be canceled"
            )
        return self.finished(RunStatus.CANCELED, now, error="the run was canceled by request")

    def with_archived(self, archived: bool) -> Run:
        """Archived runs outlive retention; any run may be (un)archived at any time."""
        return replace(self, archived=archived)

    def renewed(self, until: datetime) -> Run:
        """The holder's heartbeat: the lease moved on to ``until``."""
        return replace(self, lease_until=until)

    def held_at(self, now: datetime) -> bool:
        """Whether a live builder holds this run at ``now`` (derived, never stored)."""
        return (
            self.status is RunStatus.RUNNING
            and self.lease_until is not None
            and self.lease_until > now
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "status": self.status.value,
            "trigger": self.trigger.value,
            "task": self.task,
            "createTime": _iso(self.create_time),
            "startTime": _iso(self.start_time),
            "finishTime": _iso(self.finish_time),
            "source": {"context": self.spec.context, "commit": self.commit, "branch": self.branch},
            "images": [image.to_api() for image in self.images],
            "dependencies": self.dependencies.to_api(),
            "baseImageUpdate": self.base_image_update,
            "archived": self.archived,
            "error": self.error,
            "steps": list(self.steps),
            "file": self.spec.file,
            "noPush": self.spec.no_push,
            "platform": self.spec.platform,
            "target": self.spec.target,
            "timeout": self.spec.timeout,
            "attempt": self.attempt,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
