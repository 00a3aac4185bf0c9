"""Tasks, webhook deliveries and timer firings in Azure Table storage.

Every uniqueness rule is the table's own: ``create_entity`` fails on an existing
key, and replaces are ETag-conditional, so concurrent hosts cannot both win.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.deliveries import Answer, DeliveryRecord
from shared.errors import Conflict, NotFound, TransientError
from shared.storage.odata import one_of
from shared.storage.table_writes import insert_entity, merge_entity
from shared.storage.task_entities import PARTITION, entity_to_task, task_to_entity
from shared.storage.transport import pooled
from shared.tasks import Task

TASKS_TABLE = "drydockTasks"
DELIVERIES_TABLE = "drydockWebhookDeliveries"
TIMER_FIRINGS_TABLE = "drydockTimerFirings"
_DELIVERY_PARTITION = "delivery"


def _table(connection: str, name: str) -> TableClient:
    return TableServiceClient.from_connection_string(connection, **pooled()).get_table_client(name)


def _ensure(table: TableClient) -> None:
    try:
        table.create_table()
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise TransientError(f"table storage is unreachable: {exc}") from exc


def _unreachable(exc: AzureError) -> TransientError:
    return TransientError(f"table storage is unreachable: {exc}")


class TableTaskStore:
    def __init__(self, connection: str, table: str = TASKS_TABLE) -> None:
        self._table = _table(connection, table)

    def ensure_table(self) -> None:
        _ensure(self._table)

    def get(self, name: str) -> tuple[Task, str]:
        try:
            entity = self._table.get_entity(PARTITION, name.lower())
        except ResourceNotFoundError:
            raise NotFound(f"task {name!r} not found; see `drydock task list`") from None
        except AzureError as exc:
            raise _unreachable(exc) from exc
        return entity_to_task(entity), str(entity.metadata["etag"])

    def put(self, task: Task, etag: str | None) -> str:
        entity = task_to_entity(task)
        try:
            if etag is None:
                result = insert_entity(self._table, entity)
            else:
                result = self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except ResourceExistsError as exc:
            raise Conflict(f"task {task.name!r} already exists") from exc
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise Conflict(f"task {task.name!r} was changed or deleted meanwhile") from exc
        except AzureError as exc:
            raise _unreachable(exc) from exc
        return str(result.get("etag", ""))

    def delete(self, name: str) -> None:
        """NotFound when there is no such task, so DELETE can answer 404."""
        self.get(name)
        try:
            self._table.delete_entity(PARTITION, name.lower())
        except AzureError as exc:
            raise _unreachable(exc) from exc

    def list(self) -> Iterator[Task]:
        yield from self._query("PartitionKey eq @pk", {"pk": PARTITION})

    def for_repositories(self, repo_keys: Collection[str]) -> Sequence[Task]:
        keys = sorted(set(repo_keys))
        if not keys:
            return []
        clause, params = one_of("repoKey", keys)
        return list(self._query(f"PartitionKey eq @pk and {clause}", {"pk": PARTITION, **params}))

    def _query(self, query: str, params: dict[str, Any]) -> Iterator[Task]:
        try:
            for entity in self._table.query_entities(query, parameters=params):
                yield entity_to_task(entity)
        except AzureError as exc:
            raise _unreachable(exc) from exc


class TableDeliveryStore:
    """DeliveryStore: one row per delivery key; ``answer`` empty until it is known."""

    def __init__(self, connection: str, table: str = DELIVERIES_TABLE) -> None:
        self._table = _table(connection, table)

    def ensure_table(self) -> None:
        _ensure(self._table)

    def insert(self, key: str, now: datetime) -> None:
        try:
            insert_entity(self._table, self._entity(key, now))
        except ResourceExistsError as exc:
            raise Conflict(f"delivery {key} was seen before") from exc
        except AzureError as exc:
            raise _unreachable(exc) from exc

    def get(self, key: str) -> tuple[DeliveryRecord, str]:
        try:
            entity = self._table.get_entity(_DELIVERY_PARTITION, key)
        except ResourceNotFoundError:
            raise NotFound(f"delivery {key} not recorded") from None
        except AzureError as exc:
            raise _unreachable(exc) from exc
        answer = json.loads(entity.get("answer") or "null")
        record = DeliveryRecord(
            claimed_at=entity["claimedAt"],
            answer=(int(answer[0]), dict(answer[1])) if answer else None,
        )
        return record, str(entity.metadata["etag"])

    def complete(self, key: str, answer: Answer) -> None:
        try:
            merge_entity(
                self._table,
                {"PartitionKey": _DELIVERY_PARTITION, "RowKey": key, "answer": json.dumps(answer)},
            )
        except AzureError as exc:
            raise _unreachable(exc) from exc

    def retake(self, key: str, etag: str, now: datetime) -> None:
        try:
            self._table.update_entity(
                self._entity(key, now),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise Conflict(f"delivery {key} was taken over by another copy") from exc
        except AzureError as exc:
            raise _unreachable(exc) from exc

    def delete(self, key: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(_DELIVERY_PARTITION, key)

    @staticmethod
    def _entity(key: str, now: datetime) -> dict[str, Any]:
        return {"PartitionKey": _DELIVERY_PARTITION, "RowKey": key, "claimedAt": now, "answer": ""}


class TableTimerFiringStore:
    """TimerFiringStore: partition per task, row ``<timer>@<occurrence>``."""

    def __init__(self, connection: str, table: str = TIMER_FIRINGS_TABLE) -> None:
        self._table = _table(connection, table)

    def ensure_table(self) -> None:
        _ensure(self._table)

    def claim(self, task: str, timer: str, occurrence: datetime, now: datetime) -> bool:
        entity = {**self._key(task, timer, occurrence), "occurrence": occurrence, "firedAt": now}
        try:
            insert_entity(self._table, entity)
        except ResourceExistsError:
            return False
        except AzureError as exc:
            raise _unreachable(exc) from exc
        return True

    def record_run(self, task: str, timer: str, occurrence: datetime, run_id: str) -> None:
        try:
            merge_entity(self._table, {**self._key(task, timer, occurrence), "runId": run_id})
        except AzureError as exc:
            raise _unreachable(exc) from exc

    @staticmethod
    def _key(task: str, timer: str, occurrence: datetime) -> dict[str, str]:
        stamp = occurrence.strftime("%Y%m%dT%H%M%SZ")
        return {"PartitionKey": task.lower(), "RowKey": f"{timer.lower()}@{stamp}"}
