"""Log retention: which runs have outlived ``DRYDOCK_LOG_RETENTION_DAYS``, and
purging them with their logs and uploaded contexts.

Selection is pure (``select_expired_runs``); ``purge_expired_runs`` walks the
store page by page so memory stays flat however many runs there are, and is
safe to run twice at once: the run entity goes first, ETag-guarded (an archive
that lands meanwhile wins), and every delete tolerates "already gone".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.errors import NotFound
from shared.ports import ExpiringRunStore, RunArtifacts
from shared.runs import Run

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Runs fetched per storage request while purging."""
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


def purge_expired_runs(
    runs: ExpiringRunStore,
    artifacts: Iterable[RunArtifacts],
    now: datetime,
    retention: timedelta,
) -> PurgeReport:
    """Delete every expired run, then its log, context and other per-run artifacts."""
    report = PurgeReport()
    artifacts = tuple(artifacts)
    candidates = runs.list_finished_before(now - retention, PAGE_SIZE)
    for candidate in select_expired_runs(candidates, now, retention):
        if _purge_one(candidate.run_id, runs, artifacts, now, retention):
            report.deleted += 1
            if len(report.deleted_ids) < MAX_IDS_LOGGED:
                report.deleted_ids.append(candidate.run_id)
        else:
            report.skipped += 1
    return report


def _purge_one(
    run_id: str,
    runs: ExpiringRunStore,
    artifacts: tuple[RunArtifacts, ...],
    now: datetime,
    retention: timedelta,
) -> bool:
    # Re-read for a fresh ETag: the listing may be minutes old on a big store.
    try:
        run, etag = runs.get(run_id)
    except NotFound:
        return False
    if not is_expired(run, now, retention) or not runs.delete(run_id, etag):
        return False
    # The record goes first: a crash below leaves an orphan blob, never a run
    # whose log has vanished while the API still shows it.
    for store in artifacts:
        store.delete(run_id)
    log.debug("purged run %s (finished %s)", run_id, run.finish_time)
    return True
