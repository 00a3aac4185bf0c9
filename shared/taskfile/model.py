"""What a validated task file says: steps with ACR's defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass, field

VERSIONS = ("1.0-preview-1", "v1.0.0", "v1.1.0")
DEFAULT_VERSION = "v1.0.0"
DEFAULT_STEP_TIMEOUT = 600
DEFAULT_TOTAL_TIMEOUT = 3600
WORKSPACE = "/workspace"
AT_ONCE = "-"


@dataclass(frozen=True)
class DockerBuild:
    """A ``build`` step's ``docker build`` arguments."""

    context: str
    tags: tuple[str, ...] = ()
    dockerfile: str | None = None
    build_args: tuple[tuple[str, str | None], ...] = ()
    """``--build-arg K=V``; ``V`` None for ``--build-arg K`` (taken from the step's env)."""
    target: str | None = None
    no_cache: bool = False
    platform: str | None = None
    pull: bool = False
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Step:
    id: str
    line: int
    build: DockerBuild | None = None
    push: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    """The image first, then its arguments."""
    when: tuple[str, ...] = ()
    """Ids this step waits for, resolved: empty means it starts at once."""
    env: tuple[str, ...] = ()
    timeout: int = DEFAULT_STEP_TIMEOUT
    start_delay: int = 0
    retries: int = 0
    retry_delay: int = 0
    repeat: int = 0
    ignore_errors: bool = False
    detach: bool = False
    keep: bool = False
    ports: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    entry_point: str | None = None
    user: str | None = None
    working_directory: str | None = None
    network: str | None = None
    privileged: bool = False
    disable_working_directory_override: bool = False
    pull: bool = False
    isolation: str | None = None
    cache: str | None = None
    volume_mounts: tuple[tuple[str, str], ...] = ()
    """``(volume name, mountPath)``, each volume declared in the task's ``volumes``."""

    @property
    def kind(self) -> str:
        return "build" if self.build else "push" if self.push else "cmd"


@dataclass(frozen=True)
class Network:
    name: str
    driver: str | None = None
    ipv6: bool = False
    skip_creation: bool = False
    is_default: bool = False


@dataclass(frozen=True)
class SecretVolume:
    """A ``volumes`` entry: files (name, decoded content) that steps mount read-only."""

    name: str
    files: tuple[tuple[str, bytes], ...] = ()

    def __repr__(self) -> str:  # never the secrets themselves, not even in a traceback
        return f"SecretVolume(name={self.name!r}, files={[name for name, _ in self.files]!r})"


@dataclass(frozen=True)
class TaskFile:
    version: str = DEFAULT_VERSION
    step_timeout: int = DEFAULT_STEP_TIMEOUT
    total_timeout: int | None = None
    working_directory: str | None = None
    env: tuple[str, ...] = ()
    secret_ids: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    volumes: tuple[SecretVolume, ...] = ()
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def volume_names(self) -> tuple[str, ...]:
        return tuple(volume.name for volume in self.volumes)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)
