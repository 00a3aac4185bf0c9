"""In-memory stores for the task and trigger services' unit tests.

They keep the adapters' contracts (insert-if-absent, ETag-guarded replace) so
the idempotency logic is exercised for real, threads included.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.deliveries import Answer, DeliveryRecord
from shared.errors import Conflict, NotFound
from shared.runs import Run
from shared.submission import SubmissionServices
from shared.tasks import Task


class Versioned:
    """A dict of key -> (value, etag) with the tables' write rules."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Any, str]] = {}
        self._lock = threading.Lock()
        self._etags = itertools.count(1)

    def insert(self, key: str, value: Any) -> str:
        with self._lock:
            if key in self.rows:
                raise Conflict(f"{key} exists")
            return self._write(key, value)

    def replace(self, key: str, value: Any, etag: str) -> str:
        with self._lock:
            if key not in self.rows or self.rows[key][1] != etag:
                raise Conflict(f"{key} changed")
            return self._write(key, value)

    def get(self, key: str) -> tuple[Any, str]:
        with self._lock:
            if key not in self.rows:
                raise NotFound(key)
            return self.rows[key]

    def _write(self, key: str, value: Any) -> str:
        etag = f"e{next(self._etags)}"
        self.rows[key] = (value, etag)
        return etag


class FakeTaskStore:
    def __init__(self, *tasks: Task) -> None:
        self.table = Versioned()
        for task in tasks:
            self.put(task, None)

    def get(self, name: str) -> tuple[Task, str]:
        return self.table.get(name.lower())

    def put(self, task: Task, etag: str | None) -> str:
        if etag is None:
            return self.table.insert(task.key, task)
        return self.table.replace(task.key, task, etag)

    def delete(self, name: str) -> None:
        self.get(name)
        del self.table.rows[name.lower()]

    def list(self) -> Iterator[Task]:
        yield from (task for task, _ in list(self.table.rows.values()))

    def for_repositories(self, repo_keys: Collection[str]) -> Sequence[Task]:
        return [task for task in self.list() if task.repo_key in repo_keys]


class FakeDeliveryStore:
    def __init__(self) -> None:
        self.table = Versioned()

    def insert(self, key: str, now: datetime) -> None:
        self.table.insert(key, DeliveryRecord(claimed_at=now, answer=None))

    def get(self, key: str) -> tuple[DeliveryRecord, str]:
        return self.table.get(key)

    def complete(self, key: str, answer: Answer) -> None:
        record, etag = self.table.get(key)
        self.table.replace(key, replace(record, answer=answer), etag)

    def retake(self, key: str, etag: str, now: datetime) -> None:
        self.table.replace(key, DeliveryRecord(claimed_at=now, answer=None), etag)

    def delete(self, key: str) -> None:
        self.table.rows.pop(key, None)


class FakeFiringStore:
    def __init__(self) -> None:
        self.table = Versioned()

    def claim(self, task: str, timer: str, occurrence: datetime, now: datetime) -> bool:
        try:
            self.table.insert(f"{task}/{timer}@{occurrence.isoformat()}", None)
        except Conflict:
            return False
        return True

    def record_run(self, task: str, timer: str, occurrence: datetime, run_id: str) -> None:
        key = f"{task}/{timer}@{occurrence.isoformat()}"
        self.table.rows[key] = (run_id, self.table.rows[key][1])


class FakeRunStore:
    def __init__(self) -> None:
        self.table = Versioned()
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    def allocate_sequence(self) -> int:
        with self._lock:
            return next(self._sequence)

    def allocate_sequences(self, count: int) -> list[int]:
        return [self.allocate_sequence() for _ in range(count)]

    def insert(self, run: Run) -> None:
        self.table.insert(run.run_id, run)

    def insert_many(self, runs) -> None:
        for run in runs:
            self.insert(run)

    def get(self, run_id: str) -> tuple[Run, str]:
        return self.table.get(run_id)

    def replace(self, run: Run, etag: str) -> str:
        return self.table.replace(run.run_id, run, etag)

    def update(self, run_id: str, change) -> Run:
        run, etag = self.get(run_id)
        changed = change(run)
        self.replace(changed, etag)
        return changed

    def list(
        self, *, task=None, status=None, trigger=None, top=100, min_sequence=None
    ) -> Iterator[Run]:
        runs = [
            run
            for run, _ in list(self.table.rows.values())
            if min_sequence is None or int(run.run_id[2:], 36) >= min_sequence
        ]
        runs.sort(key=lambda run: int(run.run_id[2:], 36), reverse=True)
        for run in runs[:top]:
            if (task in (None, run.task) and status in (None, run.status.value)
                    and trigger in (None, run.trigger.value)):  # fmt: skip
                yield run

    def list_versions(
        self, *, task=None, status=None, trigger=None, top=100, min_sequence=None
    ) -> Iterator[tuple[Run, str]]:
        listed = self.list(task=task, status=status, trigger=trigger, top=top,
                           min_sequence=min_sequence)  # fmt: skip
        return ((run, self.table.rows[run.run_id][1]) for run in listed)

    @property
    def all(self) -> list[Run]:
        return [run for run, _ in self.table.rows.values()]


class FakeQueue:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, str]] = {}

    def put(self, run_id: str, secrets: dict[str, str]) -> None:
        self.values[run_id] = secrets

    def get(self, run_id: str) -> dict[str, str]:
        return self.values.get(run_id, {})

    def delete(self, run_id: str) -> None:
        self.values.pop(run_id, None)


def fake_submission(runs: FakeRunStore | None = None) -> SubmissionServices:
    return SubmissionServices(
        runs=runs or FakeRunStore(),
        contexts=None,  # type: ignore[arg-type] - Git contexts never upload
        secrets=FakeSecrets(),
        build_queue=FakeQueue(),
        resolve=lambda host: ["127.0.0.1"],
        registry="localhost:5000",
        allow_private_networks=True,
    )
