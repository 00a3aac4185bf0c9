"""Per-task history limits (OpenShift's successful/failedBuildsHistoryLimit) in retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.build_requests import BuildRequest
from shared.retention import purge_beyond_history, select_beyond_history
from shared.runs import BuildSpec, Run, RunStatus, Trigger
from shared.tasks import HistoryLimits, Task
from tests.support.task_fakes import FakeRunStore

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
S, F, C, E, T, R = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.ERROR,
                    RunStatus.TIMEOUT, RunStatus.RUNNING)  # fmt: skip


def _runs(*statuses: RunStatus, task: str = "app-task", start: int = 1) -> list[Run]:
    """Runs dd1, dd2… in creation order, each finished (unless running) a minute apart."""
    return [
        Run(
            run_id=f"dd{start + i}",
            status=status,
            trigger=Trigger.MANUAL,
            create_time=NOW + timedelta(minutes=i),
            spec=BuildSpec(context="upload"),
            task=task,
            finish_time=None if status is R else NOW + timedelta(minutes=i, seconds=30),
        )
        for i, status in enumerate(statuses)
    ]


def _ids(runs) -> list[str]:
    return [run.run_id for run in runs]


@pytest.mark.parametrize(
    ("statuses", "limits", "beyond"),
    [
        ((S, S, S, S), HistoryLimits(succeeded=2), ["dd2", "dd1"]),
        ((S, S, S, S), HistoryLimits(failed=0), []),
        ((F, C, E, T, S), HistoryLimits(failed=2), ["dd2", "dd1"]),
        ((F, S, F, S, F), HistoryLimits(succeeded=1, failed=1), ["dd3", "dd2", "dd1"]),
        ((S, S, R), HistoryLimits(succeeded=0), ["dd2", "dd1"]),
        ((S, S, S), HistoryLimits(), []),
    ],
)
def test_runs_beyond_the_newest_n_of_their_outcome(statuses, limits, beyond):
    newest_first = list(reversed(_runs(*statuses)))
    assert _ids(select_beyond_history(newest_first, limits)) == beyond


def test_archived_runs_are_kept_and_do_not_count():
    runs = _runs(S, S, S, S)
    runs[3] = replace(runs[3], archived=True)  # the newest is archived
    runs[0] = replace(runs[0], archived=True)  # and the oldest
    newest_first = list(reversed(runs))
    assert _ids(select_beyond_history(newest_first, HistoryLimits(succeeded=1))) == ["dd2"]


class _Blobs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, run_id: str) -> None:
        self.deleted.append(run_id)

    def delete_many(self, run_ids) -> None:
        self.deleted.extend(run_ids)


class _Store(FakeRunStore):
    def delete(self, run_id: str, etag: str) -> bool:
        row = self.table.rows.get(run_id)
        if row is None or row[1] != etag:
            return False
        del self.table.rows[run_id]
        return True


def _task(name: str, limits: HistoryLimits) -> Task:
    return Task(name=name, build=BuildRequest(context="upload"), history_limits=limits)


def test_the_purge_walks_each_limited_task_and_deletes_what_it_no_longer_keeps():
    store = _Store()
    for run in [*_runs(S, S, S, F, F, R), *_runs(S, S, S, task="other-task", start=7)]:
        store.insert(run)
    blobs = _Blobs()
    tasks = [_task("app-task", HistoryLimits(succeeded=1, failed=1)),
             _task("other-task", HistoryLimits())]  # fmt: skip
    report = purge_beyond_history(store, tasks, [blobs])
    assert sorted(report.deleted_ids) == ["dd1", "dd2", "dd4"] == sorted(blobs.deleted)
    assert report.deleted == 3 and report.skipped == 0
    assert sorted(store.table.rows) == ["dd3", "dd5", "dd6", "dd7", "dd8", "dd9"]


def test_an_archive_landing_during_the_purge_wins():
    store = _Store()
    for run in _runs(S, S, S):
        store.insert(run)
    real_get = store.get

    def archive_meanwhile(run_id):
        run, etag = real_get(run_id)
        if run_id == "dd1":
            etag = store.replace(replace(run, archived=True), etag)
            return real_get(run_id)
        return run, etag

    store.get = archive_meanwhile  # type: ignore[method-assign]
    report = purge_beyond_history(store, [_task("app-task", HistoryLimits(succeeded=1))], [])
    assert report.deleted_ids == ["dd2"] and report.skipped == 1
    assert sorted(store.table.rows) == ["dd1", "dd3"]
