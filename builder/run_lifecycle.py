"""A run from the builder's side: take it, run it, record how it ended.

Outcomes map once, here: BuildFailed and refused input -> Failed, the run's
timeout -> Timeout, a cancel on the record -> Canceled, a bug -> Error; a
storage outage or the Docker Engine going away (TransientError) propagates so
the queue message reappears and the run is retaken (its log notes why the
attempt stopped, and the new attempt). Whether a run may be taken is decided
by its record, never by the message: Queued, or Running with a lapsed lease
(builder/run_lease.py), and at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builder.contexts import fetch_context
from builder.dispatch import execute_spec
from builder.engine import BuildCanceled, DockerEngine
from builder.quick_build import BuildJob
from builder.run_lease import RunLease, ensure_held
from builder.run_log import RunLog
from builder.steps.errors import StepTimedOut
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
    hand_back: threading.Event = field(default_factory=threading.Event)
    """Set when the builder shuts down: runs in hand stop and are handed back."""

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.adapters.settings.builder_lease_seconds)


def execute_run(run_id: str, delivery_count: int, ctx: BuilderContext) -> Run | None:
    """Run ``run_id`` if it still needs running. Returns the ended run (the message
    may go), or None when the run is not ours to finish (held by a live builder,
    retaken, or handed back): the message must stay for a later look."""
    runs = ctx.adapters.runs
    run, etag = runs.get(run_id)
    now = datetime.now(UTC)
    if run.status.is_terminal:
        log.info("run %s is already %s; dropping its message", run_id, run.status.value)
        return run
    if run.held_at(now):
        log.info("run %s is held until %s (delivery %d)", run_id, run.lease_until, delivery_count)
        return None
    if run.attempt >= MAX_ATTEMPTS:
        return _give_up(run, etag, ctx)
    try:
        taken = run.started(now, ctx.lease)
        runs.replace(taken, etag)
    except Conflict:
        return None  # another builder took it first
    return _run_taken(taken, run, ctx)


def _run_taken(run: Run, before: Run, ctx: BuilderContext) -> Run | None:
    secrets = ctx.adapters.secrets.get(run.run_id)
    run_log = RunLog(ctx.adapters.logs, run.run_id, list(secrets.values()))
    run_log.open()
    _header(run, before, run_log)
    lease = RunLease(ctx.adapters.runs, run, ctx.lease, ctx.hand_back)
    lease.start()
    workspace = Path(tempfile.mkdtemp(prefix=f"drydock-{run.run_id}-", dir=ctx.workspace_root))
    try:
        final = _build(run, secrets, workspace, run_log, lease, ctx)
    finally:
        lease.stop()
        shutil.rmtree(workspace, ignore_errors=True)
    if final is not None:
        _footer(final, run_log)
    run_log.close()
    return _record(final, ctx) if final is not None else None


def _build(
    run: Run,
    secrets: dict[str, str],
    workspace: Path,
    run_log: RunLog,
    lease: RunLease,
    ctx: BuilderContext,
) -> Run | None:
    deadline = time.monotonic() + run.spec.timeout
    job = BuildJob(
        run=run,
        context_dir=workspace,
        secrets=secrets,
        log=run_log,
        engine=ctx.engine,
        should_stop=lambda: time.monotonic() > deadline or lease.should_stop(),
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
        if job.should_stop():
            raise BuildCanceled()
        execute_spec(job)
    except BuildCanceled:
        return _stopped(run, job, lease, time.monotonic() > deadline, run_log)
    except StepTimedOut as exc:
        return _ended(run, job, RunStatus.TIMEOUT, str(exc), run_log)
    except (BuildFailed, InvalidRequest, NotFound) as exc:
        return _ended(run, job, RunStatus.FAILED, str(exc), run_log)
    except TransientError as exc:
        # Said before the run is retaken, so its log tells why the attempt ended;
        # best effort: storage may be what failed.
        run_log.note(retry_note(run.attempt, str(exc)))
        run_log.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must still end the run truthfully
        log.exception("run %s hit an internal error", run.run_id)
        return _ended(
            run, job, RunStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}", run_log
        )
    return run.finished(
        RunStatus.SUCCEEDED,
        datetime.now(UTC),
        images=job.images,
        dependencies=job.dependencies,
        steps=job.steps,
    )


def retry_note(attempt: int, reason: str) -> str:
    """The log's last line of an attempt stopped by a transient fault."""
    then = (
        "the run will be retried once its lease lapses"
        if attempt < MAX_ATTEMPTS
        else f"that was the last of {MAX_ATTEMPTS} attempts"
    )
    return f"attempt {attempt} stopped: {reason}; {then}"


def _stopped(
    run: Run, job: BuildJob, lease: RunLease, timed_out: bool, run_log: RunLog
) -> Run | None:
    """Why ``should_stop`` fired, as an outcome; None when the run is not ours to end."""
    if timed_out:
        reason = f"the run exceeded its timeout of {run.spec.timeout}s"
        return _ended(run, job, RunStatus.TIMEOUT, reason, run_log)
    if lease.canceled.is_set():
        return _ended(run, job, RunStatus.CANCELED, "the run was canceled", run_log)
    if lease.lost.is_set():
        run_log.note(f"attempt {run.attempt} stopped: another builder retook the run")
        return None
    run_log.note(f"attempt {run.attempt} stopped: the builder is shutting down; handed back")
    lease.release(datetime.now(UTC))
    return None


def _ended(run: Run, job: BuildJob, status: RunStatus, reason: str, run_log: RunLog) -> Run:
    run_log.note(f"error: {reason}")
    return run.finished(
        status,
        datetime.now(UTC),
        error=reason,
        images=job.images or run.images,
        dependencies=job.dependencies,
        steps=job.steps,
    )


def _record(final: Run, ctx: BuilderContext) -> Run | None:
    """Write the outcome, unless the run was canceled or retaken meanwhile; then report it."""
    runs = ctx.adapters.runs
    try:
        # Archiving is the one change others may make to a running run: keep it.
        recorded = runs.update(
            final.run_id,
            lambda current: replace(final, archived=ensure_held(current, final.attempt).archived),
        )
    except Conflict:
        current, _ = runs.get(final.run_id)
        if current.status.is_terminal:
            return current
        log.warning("run %s was retaken; attempt %d's outcome dropped", final.run_id, final.attempt)
        return None
    ctx.adapters.secrets.delete(final.run_id)
    ctx.adapters.events_queue.send(outcome_event(recorded))
    return recorded


def _give_up(run: Run, etag: str, ctx: BuilderContext) -> Run | None:
    reason = (
        f"the builder stopped {run.attempt} times while running this run "
        f"(its lease lapsed each time); giving up after {MAX_ATTEMPTS} attempts"
    )
    final = run.finished(RunStatus.ERROR, datetime.now(UTC), error=reason)
    try:
        ctx.adapters.runs.replace(final, etag)
    except Conflict:
        return None  # moved on meanwhile; the message is looked at again later
    run_log = RunLog(ctx.adapters.logs, run.run_id, [])
    run_log.open()
    run_log.note(f"error: {reason}")
    run_log.close()
    ctx.adapters.secrets.delete(run.run_id)
    ctx.adapters.events_queue.send(outcome_event(final))
    return final


def _header(run: Run, before: Run, run_log: RunLog) -> None:
    attempt = f" (attempt {run.attempt})" if run.attempt > 1 else ""
    if before.status is RunStatus.RUNNING:
        lapsed = (
            f" (its lease lapsed at {before.lease_until:%H:%M:%S})" if before.lease_until else ""
        )
        run_log.note(
            f"Attempt {run.attempt} of {MAX_ATTEMPTS}: attempt {before.attempt}'s builder "
            f"stopped holding this run{lapsed}; running it again"
        )
    run_log.note(f"Run ID: {run.run_id}{attempt}, trigger: {run.trigger.value}")
    kind = "Task file" if run.spec.is_multi_step else "Dockerfile"
    run_log.note(f"Context: {run.spec.context}; {kind}: {run.spec.cmd or run.spec.file}")
    if run.spec.is_multi_step:
        return  # a task file names its images in its own steps
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
