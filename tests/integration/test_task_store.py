"""The task, delivery and timer-firing tables against real Azurite."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from shared.errors import Conflict, NotFound
from shared.storage.task_tables import TableDeliveryStore, TableTaskStore, TableTimerFiringStore
from shared.task_parsing import parse_task

pytestmark = pytest.mark.integration

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tables(storage_connection, unique_name):
    names = [f"{unique_name}tasks", f"{unique_name}deliveries", f"{unique_name}firings"]
    stores = (
        TableTaskStore(storage_connection, names[0]),
        TableDeliveryStore(storage_connection, names[1]),
        TableTimerFiringStore(storage_connection, names[2]),
    )
    for store in stores:
        store.ensure_table()
    yield stores
    service = TableServiceClient.from_connection_string(storage_connection)
    for name in names:
        service.delete_table(name)


def _task(name: str, context: str = "https://github.com/Owner/App.git#main", **body):
    timers = [{"name": "nightly", "schedule": "0 2 * * *"}]
    body = {"context": context, "images": ["app:{{.Run.ID}}"], "secretBuildArgs": {"T": "s"},
            "triggers": {"timers": timers}, **body}  # fmt: skip
    return parse_task(name, json.dumps(body).encode(), None, NOW, "localhost:5000")


def test_tasks_round_trip_case_insensitively_with_etags(tables):
    tasks, _, _ = tables
    task = _task("My-App-Task")
    etag = tasks.put(task, None)
    stored, stored_etag = tasks.get("my-app-task")
    assert stored == task and stored_etag == etag
    with pytest.raises(Conflict):
        tasks.put(task, None)
    newer = tasks.put(task, etag)
    with pytest.raises(Conflict):
        tasks.put(task, etag)  # stale
    assert newer != etag
    assert [t.name for t in tasks.list()] == ["My-App-Task"]
    tasks.delete("MY-APP-TASK")
    with pytest.raises(NotFound):
        tasks.get("my-app-task")
    with pytest.raises(NotFound):
        tasks.delete("my-app-task")


def test_tasks_are_found_by_repository_key(tables):
    tasks, _, _ = tables
    tasks.put(_task("app-one"), None)
    tasks.put(_task("app-two", context="git@github.com:owner/app"), None)
    tasks.put(_task("other-app", context="https://github.com/owner/other.git"), None)
    tasks.put(_task("tarball-app", context="https://h.example/ctx.tar.gz"), None)
    found = tasks.for_repositories({"github.com/owner/app", "gitlab.com/x/y"})
    assert sorted(t.name for t in found) == ["app-one", "app-two"]
    assert tasks.for_repositories(set()) == []


def test_a_delivery_is_claimed_once_even_concurrently(tables):
    _, deliveries, _ = tables
    wins = []
    barrier = threading.Barrier(10)

    def claim():
        barrier.wait()
        try:
            deliveries.insert("github-d1", NOW)
            wins.append(1)
        except Conflict:
            pass

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins == [1]
    record, etag = deliveries.get("github-d1")
    assert record.answer is None and record.claimed_at == NOW
    deliveries.complete("github-d1", (202, {"runs": ["dd1"]}))
    assert deliveries.get("github-d1")[0].answer == (202, {"runs": ["dd1"]})
    with pytest.raises(Conflict):
        deliveries.retake("github-d1", etag, NOW)
    deliveries.delete("github-d1")
    with pytest.raises(NotFound):
        deliveries.get("github-d1")


def test_a_timer_occurrence_is_claimed_once(tables):
    _, _, firings = tables
    occurrence = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert firings.claim("my-app", "nightly", occurrence, NOW)
    assert not firings.claim("MY-APP", "nightly", occurrence, NOW)
    assert firings.claim("my-app", "nightly", occurrence.replace(day=2), NOW)
    firings.record_run("my-app", "nightly", occurrence, "dd7")
