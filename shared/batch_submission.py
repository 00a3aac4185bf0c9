"""Queuing many runs at once — a popular base image's thousand dependents.

One reservation of run ids, the run records a table transaction per hundred,
then one message per run sent in parallel (queues have no batch send). As for
a single run, every record is written before any message that names it. A run
that cannot be prepared or queued is left out (None), never half-started.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from shared.build_requests import BuildRequest
from shared.errors import DrydockError
from shared.run_ids import format_run_id
from shared.runs import Run, RunStatus
from shared.submission import RunOrigin, SubmissionServices, new_run

log = logging.getLogger(__name__)

SEND_WORKERS = 16
"""Queue messages in flight at once: each send is a round trip of its own."""
INSERT_CHUNK = 100
"""Run records per write: a table transaction holds a hundred rows."""


@dataclass(frozen=True)
class PlannedRun:
    request: BuildRequest
    origin: RunOrigin
    values: dict[str, str]


def submit_builds(
    planned: Sequence[PlannedRun], services: SubmissionServices, now: datetime
) -> list[Run | None]:
    """Queue a run per plan; None where one could not be prepared or queued."""
    # Many tasks build from a few hosts: resolve each host once per batch.
    services = replace(services, resolve=functools.cache(services.resolve))
    sequences = services.runs.allocate_sequences(len(planned))
    ids = [format_run_id(sequence) for sequence in sequences]
    runs = [_prepared(plan, services, now, id_) for plan, id_ in zip(planned, ids, strict=True)]
    sent = _insert_and_send([run for run in runs if run], services, now)
    return [run if run and run.run_id in sent else None for run in runs]


def _insert_and_send(runs: list[Run], services: SubmissionServices, now: datetime) -> set[str]:
    """Write the records a hundred at a time; each hundred's messages go out while
    the next hundred is written. The ids of the runs queued."""
    with ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="send") as pool:
        sending = []
        for start in range(0, len(runs), INSERT_CHUNK):
            chunk = runs[start : start + INSERT_CHUNK]
            if _inserted(chunk, services, now):
                sending += [pool.submit(_send, run, services, now) for run in chunk]
        return {run_id for future in sending if (run_id := future.result())}


def _inserted(chunk: list[Run], services: SubmissionServices, now: datetime) -> bool:
    try:
        services.runs.insert_many(chunk)
    except DrydockError as exc:
        log.warning("%d runs from %s on not recorded: %s", len(chunk), chunk[0].run_id, exc)
        for run in chunk:  # a row that did land must not wait Queued for a message
            _give_up(run, services, now, f"could not be recorded: {exc}")
        return False
    return True


def _prepared(
    plan: PlannedRun, services: SubmissionServices, now: datetime, run_id: str
) -> Run | None:
    try:
        run = new_run(plan.request, services, now, run_id, plan.origin, plan.values)
        if plan.request.secret_build_args:
            services.secrets.put(run_id, dict(plan.request.secret_build_args))
    except DrydockError as exc:
        log.warning("run %s of task %s not started: %s", run_id, plan.origin.task, exc)
        return None
    return run


def _send(run: Run, services: SubmissionServices, now: datetime) -> str | None:
    """The run's id once its message is queued; a run whose message could not be
    sent is recorded Error with the reason, rather than left Queued forever."""
    try:
        services.build_queue.send({"runId": run.run_id})
    except DrydockError as exc:
        log.warning("run %s could not be queued: %s", run.run_id, exc)
        _give_up(run, services, now, f"could not be queued: {exc}")
        return None
    return run.run_id


def _give_up(run: Run, services: SubmissionServices, now: datetime, reason: str) -> None:
    with contextlib.suppress(DrydockError):
        services.runs.update(run.run_id, lambda r: r.finished(RunStatus.ERROR, now, error=reason))
