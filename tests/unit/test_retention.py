"""Retention selection with a fixed clock, and the purge over in-memory stores."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import NotFound
from shared.retention import (
    is_expired,
    purge_expired_runs,
    retention_period,
    select_expired_runs,
)
from shared.runs import BuildSpec, Run, RunStatus, Trigger

NOW = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _run(run_id="dd1", status=RunStatus.SUCCEEDED, finished_ago=None, **changes):
    finish = NOW - finished_ago if finished_ago is not None else None
    return Run(
        run_id=run_id,
        status=status,
        trigger=Trigger.MANUAL,
        create_time=NOW - timedelta(days=400),
        spec=BuildSpec(context="upload"),
        finish_time=finish,
        **changes,
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (30, timedelta(days=30)),
        (0.5, timedelta(hours=12)),
        (0.0001, timedelta(seconds=8.64)),
        (1.25, timedelta(days=1, hours=6)),
    ],
)
def test_retention_days_may_be_decimal(days, expected):
    assert retention_period(days) == expected


@pytest.mark.parametrize(
    ("run", "expired"),
    [
        (_run(finished_ago=30 * DAY), True),  # exactly at the boundary
        (_run(finished_ago=30 * DAY - timedelta(seconds=1)), False),
        (_run(finished_ago=400 * DAY), True),
        (_run(status=RunStatus.FAILED, finished_ago=31 * DAY), True),
        (_run(status=RunStatus.CANCELED, finished_ago=31 * DAY), True),
        (_run(status=RunStatus.TIMEOUT, finished_ago=31 * DAY), True),
        (_run(status=RunStatus.ERROR, finished_ago=31 * DAY), True),
        (_run(finished_ago=400 * DAY, archived=True), False),
        # Unfinished runs are never purged, however old.
        (_run(status=RunStatus.RUNNING), False),
        (_run(status=RunStatus.QUEUED), False),
        (_run(status=RunStatus.RUNNING, finished_ago=400 * DAY), False),
        (_run(finished_ago=None), False),
    ],
)
def test_is_expired(run, expired):
    assert is_expired(run, NOW, retention_period(30)) is expired


def test_seconds_of_retention_as_decimal_days():
    retention = retention_period(5 / 86400)  # five seconds
    assert is_expired(_run(finished_ago=timedelta(seconds=5)), NOW, retention)
    assert not is_expired(_run(finished_ago=timedelta(seconds=4.9)), NOW, retention)


def test_selection_is_lazy_and_keeps_order():
    def endless():
        number = 0
        while True:
            number += 1
            archived = number % 3 == 0
            yield _run(f"dd{number}", finished_ago=40 * DAY, archived=archived)

    selected = select_expired_runs(endless(), NOW, retention_period(30))
    assert [next(selected).run_id for _ in range(4)] == ["dd1", "dd2", "dd4", "dd5"]


class _Store:
    """Runs in memory, with ETags like the table's and the same guarded delete."""

    def __init__(self, runs):
        self.runs = {run.run_id: (run, 1) for run in runs}
        self.listed_with = None
        self.on_get = lambda run_id: None
        self.before_delete = lambda: None

    def pages_finished_before(self, cutoff, page_size):
        self.listed_with = (cutoff, page_size)
        found = [(run, str(etag)) for run, etag in list(self.runs.values())
                 if run.finish_time and run.finish_time < cutoff]  # fmt: skip
        for start in range(0, len(found), page_size):
            yield found[start : start + page_size]

    def delete_all(self, versions):
        self.before_delete()
        self.before_delete = lambda: None  # a race happens once
        if any(str(self.runs.get(run_id, (None, None))[1]) != etag for run_id, etag in versions):
            return False
        for run_id, _ in versions:
            del self.runs[run_id]
        return True

    def get(self, run_id):
        self.on_get(run_id)
        if run_id not in self.runs:
            raise NotFound(run_id)
        run, etag = self.runs[run_id]
        return run, str(etag)

    def delete(self, run_id, etag):
        if run_id not in self.runs or str(self.runs[run_id][1]) != etag:
            return False
        del self.runs[run_id]
        return True


class _Blobs:
    def __init__(self, names):
        self.names = set(names)

    def delete(self, run_id):
        self.names.discard(run_id)  # missing is fine, as in blob storage

    def delete_many(self, run_ids):
        self.names.difference_update(run_ids)


def test_purge_deletes_expired_runs_and_their_artifacts_only():
    store = _Store(
        [
            _run("dd1", finished_ago=31 * DAY),
            _run("dd2", finished_ago=29 * DAY),
            _run("dd3", finished_ago=31 * DAY, archived=True),
            _run("dd4", status=RunStatus.RUNNING),
            _run("dd5", status=RunStatus.FAILED, finished_ago=90 * DAY),
        ]
    )
    logs, contexts = _Blobs({"dd1", "dd2", "dd3", "dd4", "dd5"}), _Blobs({"dd1", "dd3"})
    report = purge_expired_runs(store, (logs, contexts), NOW, retention_period(30))
    assert (report.deleted, report.skipped, report.deleted_ids) == (2, 0, ["dd1", "dd5"])
    assert sorted(store.runs) == ["dd2", "dd3", "dd4"]
    assert logs.names == {"dd2", "dd3", "dd4"} and contexts.names == {"dd3"}
    assert store.listed_with[0] == NOW - 30 * DAY


def test_an_archive_racing_the_purge_wins():
    store = _Store([_run("dd1", finished_ago=31 * DAY)])
    logs = _Blobs({"dd1"})
    archived = replace(store.runs["dd1"][0], archived=True)

    def archive_meanwhile():  # archived after the listing, before the delete
        store.runs["dd1"] = (archived, 2)

    store.before_delete = archive_meanwhile
    report = purge_expired_runs(store, (logs,), NOW, retention_period(30))
    assert (report.deleted, report.skipped) == (0, 1)
    assert store.runs["dd1"][0].archived and logs.names == {"dd1"}


def test_a_page_is_deleted_at_once_when_nothing_changed_since_the_listing():
    store = _Store([_run(f"dd{n}", finished_ago=31 * DAY) for n in range(1, 251)])
    gets = []
    store.on_get = gets.append
    report = purge_expired_runs(store, (_Blobs(()),), NOW, retention_period(30))
    assert (report.deleted, report.skipped, gets, store.runs) == (250, 0, [], {})


def test_a_run_purged_concurrently_is_skipped_not_an_error():
    store = _Store([_run("dd1", finished_ago=31 * DAY), _run("dd2", finished_ago=31 * DAY)])
    store.before_delete = lambda: store.runs.pop("dd1", None)  # the other purge was faster
    report = purge_expired_runs(store, (_Blobs(()),), NOW, retention_period(30))
    assert (report.deleted, report.skipped, report.deleted_ids) == (1, 1, ["dd2"])
    assert store.runs == {}
