"""One step, with ACR's startDelay, retries, retryDelay and repeat around it.

A ``StepWatch`` answers "should this step stop now?" for the engine and the
container wait loop, and remembers why: the step's own timeout, or the run
ending (canceled, timed out, or another step failed).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from builder.engine import BuildCanceled, DockerEngine
from builder.paths import path_inside
from builder.steps.containers import WORKSPACE_MOUNT, Containers, ContainerSpec, RunResources
from builder.steps.errors import StepStopped, StepTimedOut
from builder.steps.workspace import context_from_workspace
from shared.dockerfile_deps import discover_base_images
from shared.errors import BuildFailed
from shared.image_ref import normalise_image_ref, parse_image_ref
from shared.runs import BaseImageUse, ImageOutput
from shared.taskfile import Step, TaskFile
from shared.taskfile.build_bases import BuildBases, pulls_bases, split_bases

MAX_DOCKERFILE_BYTES = 1024 * 1024
"""As for a task file: real Dockerfiles are far smaller."""


@dataclass
class StepWatch:
    timeout: float
    run_stopping: Callable[[], bool]
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def should_stop(self) -> bool:
        return self.timed_out() or self.run_stopping()

    def stopped(self, step: Step) -> BuildFailed:
        if self.timed_out():
            return StepTimedOut(f"step {step.id} exceeded its timeout of {int(self.timeout)}s")
        return StepStopped(f"step {step.id} was stopped")


@dataclass
class StepEnvironment:
    """What every step of one run shares."""

    task: TaskFile
    engine: DockerEngine
    containers: Containers
    resources: RunResources
    log_line: Callable[[str], None]
    run_stopping: Callable[[], bool]
    sleep_until_stop: Callable[[float], bool]
    """Sleeps; True when the run is stopping meanwhile."""
    allow_privileged: bool = False
    built_images: set[str] = field(default_factory=set)
    pushed: list[ImageOutput] = field(default_factory=list)
    dependencies: list[tuple[BaseImageUse | None, tuple[BaseImageUse, ...]]] = field(
        default_factory=list
    )
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_step(step: Step, env: StepEnvironment) -> int | None:
    """Run ``step`` as its properties say; the exit code of a cmd, or None."""
    if step.start_delay and env.sleep_until_stop(step.start_delay):
        raise StepStopped(f"step {step.id} was stopped")
    exit_code = None
    for _ in range(step.repeat + 1):
        exit_code = _with_retries(step, env)
    return exit_code


def _with_retries(step: Step, env: StepEnvironment) -> int | None:
    for attempt in range(step.retries + 1):
        try:
            return _run_once(step, env)
        except (StepStopped, StepTimedOut):
            raise
        except BuildFailed as exc:
            if attempt == step.retries:
                raise
            env.log_line(f"Step {step.id} failed ({exc}); retry {attempt + 1} of {step.retries}")
            if env.sleep_until_stop(step.retry_delay):
                raise StepStopped(f"step {step.id} was stopped") from exc
    raise AssertionError("unreachable")


def _run_once(step: Step, env: StepEnvironment) -> int | None:
    watch = StepWatch(step.timeout, env.run_stopping)
    try:
        if step.build:
            _build(step, env, watch)
            return None
        if step.push:
            _push(step, env, watch)
            return None
        return _cmd(step, env, watch)
    except BuildCanceled:
        raise watch.stopped(step) from None


def _build(step: Step, env: StepEnvironment, watch: StepWatch) -> None:
    """Build from the workspace as earlier steps left it, not the original context."""
    assert step.build is not None
    client = env.engine.client
    with context_from_workspace(client, env.resources.volume, step.build.context) as context:
        _build_from(context, step, env, watch)


def _build_from(context: Path, step: Step, env: StepEnvironment, watch: StepWatch) -> None:
    assert step.build is not None
    build = step.build
    dockerfile = build.dockerfile or "Dockerfile"
    args = _build_args(step, env.task)
    deps = discover_base_images(_read(context, dockerfile, step), args, build.target)
    with env.lock:
        bases = split_bases(deps, env.built_images)
    pull = pulls_bases(build, bases)
    if not pull:
        # The engine must not pull a base this run built (the registry has none
        # or an older one); the external bases are still pulled, one by one, so
        # the build uses them as the registry has them now.
        env.log_line(f"Using {', '.join(bases.from_run)} as built by an earlier step")
        for image in bases.external:
            env.containers.pull(image, env.log_line)
    env.engine.build(
        context_dir=context,
        dockerfile=dockerfile,
        tags=list(build.tags),
        build_args=args,
        target=build.target,
        platform=build.platform,
        on_output=env.log_line,
        should_stop=watch.should_stop,
        pull=pull,
        nocache=build.no_cache,
    )
    _record_build(build.tags, bases, env)


def _record_build(tags: tuple[str, ...], bases: BuildBases, env: StepEnvironment) -> None:
    def use(image: str) -> BaseImageUse:
        return BaseImageUse(normalise_image_ref(image), env.engine.base_image_digest(image))

    with env.lock:
        env.built_images.update(tags)
        env.dependencies.append(
            (use(bases.runtime) if bases.runtime else None, tuple(map(use, bases.buildtime)))
        )


def _read(context: Path, dockerfile: str, step: Step) -> str:
    """The Dockerfile, inside the context (links followed). A step may have
    written it, so it is read whole only below a cap."""
    path = path_inside(context, dockerfile)
    if path is None or not path.is_file():
        raise BuildFailed(f"step {step.id}: Dockerfile {dockerfile!r} not found in the context")
    if path.stat().st_size > MAX_DOCKERFILE_BYTES:
        raise BuildFailed(
            f"step {step.id}: Dockerfile {dockerfile!r} is larger than {MAX_DOCKERFILE_BYTES} bytes"
        )
    return path.read_text(encoding="utf-8", errors="replace")


def _build_args(step: Step, task: TaskFile) -> dict[str, str]:
    """``--build-arg NAME`` without a value takes it from the step's or task's env."""
    env = dict(item.split("=", 1) for item in (*task.env, *step.env))
    assert step.build is not None
    return {
        name: value if value is not None else env[name]
        for name, value in step.build.build_args
        if value is not None or name in env
    }


def _push(step: Step, env: StepEnvironment, watch: StepWatch) -> None:
    for reference in step.push:
        ref = parse_image_ref(reference)
        env.log_line(f"Pushing image: {reference}")
        pushed = env.engine.push(reference, on_output=env.log_line, should_stop=watch.should_stop)
        env.log_line(f"Successfully pushed image: {reference}@{pushed.digest}")
        with env.lock:
            env.pushed.append(
                ImageOutput(ref.registry, ref.repository, ref.tag or "latest", pushed.digest)
            )


def _cmd(step: Step, env: StepEnvironment, watch: StepWatch) -> int | None:
    if step.privileged and not env.allow_privileged:
        raise BuildFailed(
            f"step {step.id}: privileged containers are refused; "
            "the builder setting DRYDOCK_ALLOW_PRIVILEGED allows them"
        )
    image, *args = step.cmd
    with env.lock:
        built_here = image in env.built_images
    if not built_here and (step.pull or not env.containers.has_image(image)):
        env.containers.pull(image, env.log_line)
    container_id = env.containers.start(_container_spec(step, env, image, args))
    if step.detach:
        env.resources.detached(container_id, step.keep)
        env.containers.follow_output(container_id, env.log_line)
        return None
    try:
        reader = env.containers.follow_output(container_id, env.log_line)
        exit_code = env.containers.wait(container_id, watch.should_stop)
        reader.join(timeout=5)
    finally:
        if not step.keep:
            env.containers.remove(container_id)
    if exit_code is None:
        raise watch.stopped(step)
    if exit_code != 0:
        raise BuildFailed(f"step {step.id} exited with code {exit_code}")
    return exit_code


def _container_spec(step: Step, env: StepEnvironment, image: str, args: list[str]) -> ContainerSpec:
    if step.disable_working_directory_override:
        working_dir = step.working_directory
    else:
        working_dir = step.working_directory or env.task.working_directory or WORKSPACE_MOUNT
    return ContainerSpec(
        name=f"{env.resources.name}-{step.id}-{secrets.token_hex(2)}".replace("_", "-"),
        image=image,
        command=args,
        alias=step.id,
        network=env.resources.networks.for_step(step.network),
        environment=[*env.task.env, *step.env],
        entrypoint=step.entry_point,
        user=step.user,
        working_dir=working_dir,
        privileged=step.privileged,
        ports=step.ports,
        expose=step.expose,
        read_only_volumes=tuple(
            (env.resources.secret_volume(name), path) for name, path in step.volume_mounts
        ),
    )
