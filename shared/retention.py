"""Log retention: which runs have outlived ``DRYDOCK_LOG_RETENTION_DAYS``, and
purging them with their logs and uploaded contexts.

Selection is pure (``select_expired_runs``); ``purge_expired_runs`` walks the
store page by page so memory stays flat however many runs there are, and is
safe to run twice at once: the run entity goes first, ETag-guarded (an archive
that lands meanwhile wins), and every delete tolerates "already gone".

Tasks may also cap their history, as OpenShift's ``successfulBuildsHistoryLimit``
and ``failedBuildsHistoryLimit`` do: ``purge_beyond_history`` deletes a task's
finished, unarchived runs past the newest N of their outcome.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from shared.errors import NotFound
from shared.ports import ExpiringRunStore, RunArtifacts
from shared.runs import Run, RunStatus
from shared.tasks import HistoryLimits, Task

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Runs fetched per storage request while purging; also one table transaction."""
MAX_IDS_LOGGED = 1000
"""The purge keeps at most this many deleted ids for its debug line (the count is exact)."""


def retention_period(days: float) -> timedelta:
    """``DRYDOCK_LOG_RETENTION_DAYS`` as a period; decimals allowed (0.0001 ≈ 8.6 s)."""
    return timedelta(days=days)


def is_expired(run: Run, now: datetime, retention: timedelta) -> bool:
    """Ended, not archived, and finished at least ``retention`` before ``now``.
    A run without a finish time has not ended as far as retention is concerned."""
    return (
        run.status.is_terminal
        and not run.archived
        and run.finish_time is not None
        and run.finish_time + retention <= now
    )


def select_expired_runs(runs: Iterable[Run], now: datetime, retention: timedelta) -> Iterator[Run]:
    """The runs of ``runs`` that retention may purge at ``now``, lazily, in order."""
    return (run for run in runs if is_expired(run, now, retention))


@dataclass
class PurgeReport:
    deleted: int = 0
    skipped: int = 0
    """Selected, but archived, changed or gone by the time we got to it."""
    deleted_ids: list[str] = field(default_factory=list)

    def note(self, deleted: list[str], skipped: int) -> None:
        self.deleted += len(deleted)
        self.skipped += skipped
        self.deleted_ids += deleted[: MAX_IDS_LOGGED - len(self.deleted_ids)]


def purge_expired_runs(
    runs: ExpiringRunStore,
    artifacts: Iterable[RunArtifacts],
    now: datetime,
    retention: timedelta,
) -> PurgeReport:
    """Delete every expired run, then its log, context and other per-run artifacts.

    A page of expired runs goes in one all-or-nothing delete guarded by the ETags
    the listing saw; when anything on the page changed meanwhile (an archive, a
    concurrent purge) the page falls back to run-by-run guarded deletes. The
    page's artifacts then go a batch request per store."""
    report = PurgeReport()
    artifacts = tuple(artifacts)
    for page in runs.pages_finished_before(now - retention, PAGE_SIZE):
        expired = [(run, etag) for run, etag in page if is_expired(run, now, retention)]
        deleted = _delete_page(expired, runs, now, retention)
        # The records went first: a crash here leaves orphan blobs, never a run
        # whose log has vanished while the API still shows it.
        for store in artifacts if deleted else ():
            store.delete_many(deleted)
        report.note(deleted, skipped=len(expired) - len(deleted))
    return report


def _delete_page(
    expired: list[tuple[Run, str]], runs: ExpiringRunStore, now: datetime, retention: timedelta
) -> list[str]:
    """The ids of the runs whose records this call deleted."""
    if not expired:
        return []
    if runs.delete_all([(run.run_id, etag) for run, etag in expired]):
        return [run.run_id for run, _ in expired]

    def still_expired(run: Run) -> bool:
        return is_expired(run, now, retention)

    return [run.run_id for run, _ in expired if _delete_record_if(run.run_id, runs, still_expired)]


def _purge_if(
    run_id: str,
    runs: ExpiringRunStore,
    artifacts: tuple[RunArtifacts, ...],
    purgeable: Callable[[Run], bool],
) -> bool:
    if not _delete_record_if(run_id, runs, purgeable):
        return False
    _delete_artifacts(run_id, artifacts)
    return True


def _delete_record_if(
    run_id: str, runs: ExpiringRunStore, purgeable: Callable[[Run], bool]
) -> bool:
    # Re-read for a fresh ETag: the listing may be minutes old on a big store.
    try:
        run, etag = runs.get(run_id)
    except NotFound:
        return False
    return purgeable(run) and runs.delete(run_id, etag)


def _delete_artifacts(run_id: str, artifacts: tuple[RunArtifacts, ...]) -> None:
    # The record went first: a crash here leaves an orphan blob, never a run
    # whose log has vanished while the API still shows it.
    for store in artifacts:
        store.delete(run_id)
    log.debug("purged run %s", run_id)


# ---- per-task history limits ------------------------------------------------------

FAILED_OUTCOMES = frozenset({RunStatus.FAILED, RunStatus.CANCELED, RunStatus.ERROR,
                             RunStatus.TIMEOUT})  # fmt: skip
"""What ``historyLimits.failed`` counts: every end but success, as in OpenShift."""


class TaskRunStore(ExpiringRunStore, Protocol):
    def list(
        self, *, task: str | None, status: str | None, trigger: str | None, top: int
    ) -> Iterator[Run]: ...


def history_outcome(run: Run) -> str | None:
    """Which of a task's ``historyLimits`` a run counts against; None: neither."""
    if run.archived or not run.status.is_terminal:
        return None  # archived runs are kept whatever the limits, and do not count
    return "succeeded" if run.status is RunStatus.SUCCEEDED else "failed"


def select_beyond_history(runs: Iterable[Run], limits: HistoryLimits) -> Iterator[Run]:
    """Of one task's runs, newest first, those past the newest N of their outcome."""
    kept = {"succeeded": 0, "failed": 0}
    for run in runs:
        outcome = history_outcome(run)
        limit = getattr(limits, outcome) if outcome else None
        if outcome is None or limit is None:
            continue
        kept[outcome] += 1
        if kept[outcome] > limit:
            yield run


def purge_beyond_history(
    runs: TaskRunStore, tasks: Iterable[Task], artifacts: Iterable[RunArtifacts]
) -> PurgeReport:
    """Delete, task by task, the runs its ``historyLimits`` no longer keep."""
    report = PurgeReport()
    artifacts = tuple(artifacts)
    for task in tasks:
        limits = task.history_limits
        if limits.succeeded is None and limits.failed is None:
            continue
        # Newest first and paged by the store, so memory stays flat for any history.
        history = runs.list(task=task.name, status=None, trigger=None, top=sys.maxsize)
        for candidate in select_beyond_history(history, limits):
            # Re-checked on the fresh copy: an archive that landed meanwhile wins.
            if _purge_if(candidate.run_id, runs, artifacts, lambda run: bool(history_outcome(run))):
                report.deleted += 1
                if len(report.deleted_ids) < MAX_IDS_LOGGED:
                    report.deleted_ids.append(candidate.run_id)
            else:
                report.skipped += 1
    return report
