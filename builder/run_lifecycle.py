"""A run from the builder's side: take it, run it, record how it ended.

Outcomes map once, here: BuildFailed and refused input -> Failed, the run's
timeout -> Timeout, a bug -> Error; a storage outage propagates so the queue
message reappears and the run is retaken (its log notes the new attempt).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from builder.contexts import fetch_context
from builder.engine import BuildCanceled, DockerEngine
from builder.dispatch import execute_spec
from builder.quick_build import BuildJob
from builder.run_log import RunLog
from shared.errors import BuildFailed, Conflict, InvalidRequest, NotFound, TransientError
from shared.run_events import outcome_event
from shared.runs import Run, RunStatus
from shared.wiring import Adapters

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class BuilderContext:
    adapters: Adapters
    engine: DockerEngine
    workspace_root: Path


def execute_run(run_id: str, delivery_count: int, ctx: BuilderContext) -> Run | None:
    """Run ``run_id`` if it still needs running; None when another builder has it."""
    runs = ctx.adapters.runs
    run, etag = runs.get(run_id)
    if run.status.is_terminal:
        log.info("run %s is already %s; nothing to do", run_id, run.status.value)
        return run
    if run.status is RunStatus.RUNNING and delivery_count <= run.attempt:
        return None  # still held by a live builder
    if run.attempt >= MAX_ATTEMPTS:
        return _give_up(run, etag, ctx)
    try:
        run = run.started(datetime.now(UTC))
        etag = runs.replace(run, etag)
    except Conflict:
        return None  # another builder took it first
    return _run_taken(run, etag, ctx)


def _run_taken(run: Run, etag: str, ctx: BuilderContext) -> Run:
    secrets = ctx.adapters.secrets.get(run.run_id)
    run_log = RunLog(ctx.adapters.logs, run.run_id, list(secrets.values()))
    run_log.open()
    _header(run, run_log)
    workspace = Path(tempfile.mkdtemp(prefix=f"drydock-{run.run_id}-", dir=ctx.workspace_root))
    try:
        final = _build(run, secrets, workspace, run_log, ctx)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    _footer(final, run_log)
    run_log.close()
    return _record(final, etag, ctx)


def _build(
    run: Run, secrets: dict[str, str], workspace: Path, run_log: RunLog, ctx: BuilderContext
) -> Run:
    deadline = time.monotonic() + run.spec.timeout
    job = BuildJob(
        run=run,
        context_dir=workspace,
        secrets=secrets,
        log=run_log,
        engine=ctx.engine,
        should_stop=lambda: time.monotonic() > deadline,
    )
    try:
        run_log.note("Downloading source code...")
        job.context_dir = fetch_context(
            run.spec.context,
            run.run_id,
            workspace,
            ctx.adapters.contexts,
            ctx.adapters.settings.allow_private_networks,
            run.commit,
            run.spec.timeout,
        )
        execute_spec(job)
    except BuildCanceled:
        if time.monotonic() > deadline:
            return _ended(
                run,
                job,
                RunStatus.TIMEOUT,
                f"the run exceeded its timeout of {run.spec.timeout}s",
                run_log,
            )
        return _ended(run, job, RunStatus.CANCELED, "the run was canceled", run_log)
    except (BuildFailed, InvalidRequest, NotFound) as exc:
        return _ended(run, job, RunStatus.FAILED, str(exc), run_log)
    except TransientError:
        run_log.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must still end the run truthfully
        log.exception("run %s hit an internal error", run.run_id)
        return _ended(
            run, job, RunStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}", run_log
        )
    return run.finished(
        RunStatus.SUCCEEDED, datetime.now(UTC), images=job.images, dependencies=job.dependencies
    )


def _ended(run: Run, job: BuildJob, status: RunStatus, reason: str, run_log: RunLog) -> Run:
    run_log.note(f"error: {reason}")
    return run.finished(
        status,
        datetime.now(UTC),
        error=reason,
        images=job.images or run.images,
        dependencies=job.dependencies,
    )


def _record(final: Run, etag: str, ctx: BuilderContext) -> Run:
    """Write the outcome, unless the run was canceled meanwhile; then report it."""
    try:
        ctx.adapters.runs.replace(final, etag)
    except Conflict:
        current, _ = ctx.adapters.runs.get(final.run_id)
        if current.status.is_terminal:
            return current
        raise
    ctx.adapters.secrets.delete(final.run_id)
    ctx.adapters.events_queue.send(outcome_event(final))
    return final


def _give_up(run: Run, etag: str, ctx: BuilderContext) -> Run:
    reason = f"the builder stopped {run.attempt} times while running this run; giving up"
    final = run.finished(RunStatus.ERROR, datetime.now(UTC), error=reason)
    run_log = RunLog(ctx.adapters.logs, run.run_id, [])
    run_log.open()
    run_log.note(f"error: {reason}")
    run_log.close()
    return _record(final, etag, ctx)


def _header(run: Run, run_log: RunLog) -> None:
    attempt = f" (attempt {run.attempt})" if run.attempt > 1 else ""
    run_log.note(f"Run ID: {run.run_id}{attempt}, trigger: {run.trigger.value}")
    run_log.note(f"Context: {run.spec.context}; Dockerfile: {run.spec.file}")
    images = ", ".join(image.reference for image in run.images) or "(none: build only)"
    run_log.note(f"Images: {images}" + (" (not pushed)" if run.spec.no_push and run.images else ""))


def _footer(run: Run, run_log: RunLog) -> None:
    seconds = (
        (run.finish_time - run.start_time).total_seconds()
        if run.finish_time and run.start_time
        else 0
    )
    run_log.note(f"Run {run.run_id} {run.status.value} after {seconds:.0f}s")
    for image in run.images:
        if image.digest:
            run_log.line(f"- image: {image.reference}@{image.digest}")
    deps = run.dependencies
    if deps.runtime:
        run_log.line(f"- runtime-dependency: {deps.runtime.image}@{deps.runtime.digest}")
    for use in deps.buildtime:
        run_log.line(f"- buildtime-dependency: {use.image}@{use.digest}")
