"""A multi-step run: steps start as their ``when`` allows, each on a thread.

The first step to fail (without ``ignoreErrors``) ends the run: steps still
running are stopped, steps not started are skipped. A step past its timeout
ends the run ``Timeout``; the run's own deadline stops every step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from builder.engine import BuildCanceled
from builder.quick_build import BuildJob
from builder.steps.containers import Containers, RunResources
from builder.steps.errors import StepStopped, StepTimedOut, TaskTimedOut
from builder.steps.step_runner import StepEnvironment, run_step
from shared.errors import BuildFailed
from shared.runs import Dependencies
from shared.taskfile import Step, TaskFile

SUCCEEDED, FAILED, SKIPPED, TIMEOUT, CANCELED = (
    "Succeeded", "Failed", "Skipped", "Timeout", "Canceled",
)  # fmt: skip


@dataclass
class _Progress:
    """Each step's record, and why the run is ending, guarded by one condition."""

    records: dict[str, dict[str, Any]]
    changed: threading.Condition = field(default_factory=threading.Condition)
    ending: BaseException | None = None

    def finished(self, step_id: str) -> bool:
        return self.records[step_id]["status"] not in ("Queued", "Running")


def run_task_steps(
    job: BuildJob, task: TaskFile, resources: RunResources, allow_privileged: bool
) -> None:
    """Run every step; fills ``job.images``, ``job.dependencies`` and ``job.steps``."""
    client = job.engine.client
    stop_reason = _stop_reason(job.should_stop, task.total_timeout)
    progress = _Progress({s.id: {"id": s.id, "status": "Queued", "startTime": None,
                                 "finishTime": None} for s in task.steps})  # fmt: skip
    env = StepEnvironment(
        task=task,
        engine=job.engine,
        containers=Containers(client, resources),
        resources=resources,
        log_line=job.log.line,
        run_stopping=lambda: stop_reason() is not None or progress.ending is not None,
        sleep_until_stop=lambda seconds: _sleep(seconds, stop_reason, progress),
        allow_privileged=allow_privileged,
    )
    # Secret volumes' contents are secrets too: keep them out of the log.
    job.log.add_secrets([
        content.decode("utf-8", "replace") for volume in task.volumes
        for _, content in volume.files
    ])  # fmt: skip
    try:
        # Host networking is as much an escape as a privileged container.
        resources.create(job.context_dir, task.volumes, task.networks, allow_privileged)
        _schedule(task, env, progress, stop_reason)
    finally:
        resources.remove()
        job.images = tuple(env.pushed)
        job.dependencies = _merged(env.dependencies)
        job.steps = tuple(progress.records[step.id] for step in task.steps)
    if progress.ending is not None:
        raise progress.ending


def _stop_reason(
    should_stop: Callable[[], bool], total_timeout: int | None
) -> Callable[[], BaseException | None]:
    """Why the run must stop now, if it must: the run's own ``should_stop`` (its
    deadline, a cancel, a lost lease: run_lifecycle tells which), else the task
    file's ``totalTimeout`` counted from now, when the steps start."""
    deadline = time.monotonic() + total_timeout if total_timeout else None

    def reason() -> BaseException | None:
        if should_stop():
            return BuildCanceled()
        if deadline is not None and time.monotonic() > deadline:
            return TaskTimedOut(f"the task exceeded its totalTimeout of {total_timeout}s")
        return None

    return reason


def _schedule(
    task: TaskFile,
    env: StepEnvironment,
    progress: _Progress,
    stop_reason: Callable[[], BaseException | None],
) -> None:
    threads: list[threading.Thread] = []
    with progress.changed:
        while not all(progress.finished(step.id) for step in task.steps):
            _note_stop(progress, stop_reason)
            for step in task.steps:
                if progress.records[step.id]["status"] == "Queued":
                    _start_or_skip(step, env, progress, threads)
            progress.changed.wait(timeout=0.5)
        _note_stop(progress, stop_reason)
    for thread in threads:
        thread.join()


def _note_stop(progress: _Progress, stop_reason: Callable[[], BaseException | None]) -> None:
    if progress.ending is None:
        progress.ending = stop_reason()


def _start_or_skip(
    step: Step, env: StepEnvironment, progress: _Progress, threads: list[threading.Thread]
) -> None:
    records = progress.records
    if progress.ending is not None or any(
        records[dep]["status"] in (SKIPPED, CANCELED, TIMEOUT)
        or (records[dep]["status"] == FAILED and not records[dep].get("ignoredError"))
        for dep in step.when
    ):
        records[step.id]["status"] = SKIPPED
        env.log_line(f"Step ID: {step.id} skipped")
        progress.changed.notify_all()
        return
    if all(progress.finished(dep) for dep in step.when):
        records[step.id].update(status="Running", startTime=_now())
        thread = threading.Thread(target=_run, args=(step, env, progress), name=f"step-{step.id}")
        threads.append(thread)
        thread.start()


def _run(step: Step, env: StepEnvironment, progress: _Progress) -> None:
    env.log_line(f"{_stamp()} Executing step ID: {step.id}. Timeout(sec): {step.timeout}")
    started = time.monotonic()
    status = SUCCEEDED
    extra: dict[str, Any] = {}
    ending_error: BaseException | None = None
    try:
        exit_code = run_step(step, env)
        if exit_code is not None:
            extra["exitCode"] = exit_code
    except StepTimedOut as exc:
        status, extra, ending_error = TIMEOUT, {"error": str(exc)}, exc
    except StepStopped as exc:
        status, extra = CANCELED, {"error": str(exc)}
    except BuildFailed as exc:  # BuildCanceled too: the run's deadline or a cancel
        status, extra = FAILED, {"error": str(exc)}
        ending_error = None if step.ignore_errors else exc
    except BaseException as exc:  # noqa: BLE001 - a bug or an outage ends the run, not a thread
        status, ending_error = FAILED, exc
        extra = {"error": f"{type(exc).__name__}: {exc}"}
    if status == FAILED and step.ignore_errors:
        extra["ignoredError"] = True
    seconds = time.monotonic() - started
    env.log_line(
        f"{_stamp()} Step ID: {step.id} marked as {status} (elapsed time in seconds: {seconds:.6f})"
    )
    with progress.changed:
        progress.records[step.id].update(status=status, finishTime=_now(), **extra)
        if ending_error is not None and progress.ending is None:
            progress.ending = ending_error
        progress.changed.notify_all()


def _sleep(
    seconds: float, stop_reason: Callable[[], BaseException | None], progress: _Progress
) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stop_reason() is not None or progress.ending is not None:
            return True
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return stop_reason() is not None or progress.ending is not None


def _merged(found: list[Any]) -> Dependencies:
    """The first build's runtime base is the run's; every other base is buildtime
    (once, and never the runtime base again, as for a quick build)."""
    runtime = next((runtime for runtime, _ in found if runtime), None)
    buildtime = [use for r, uses in found for use in ((r,) if r else ()) + uses]
    return Dependencies(
        runtime=runtime, buildtime=tuple(use for use in dict.fromkeys(buildtime) if use != runtime)
    )


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S")
