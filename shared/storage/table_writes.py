"""Table writes that survive a connection broken before the answer came back.

The SDK retries a broken GET or PUT itself but never a POST (insert) or PATCH
(merge): it cannot know whether the write landed. Azurite under a burst resets
a connection now and then, and a webhook must not answer 503 for that. An
insert carries its writer's token, so a retry that finds the row already there
can tell our own landed insert from somebody else's; an unconditional merge is
idempotent and is simply sent again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from azure.core.exceptions import ResourceExistsError, ServiceRequestError, ServiceResponseError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

WRITER_COLUMN = "writerToken"
TRIES = 3
TRANSACTION_LIMIT = 100
"""Rows one table transaction may hold."""
_BROKEN = (ServiceRequestError, ServiceResponseError)
T = TypeVar("T")


def insert_entity(table: TableClient, entity: dict[str, Any]) -> dict[str, Any]:
    """``create_entity``, retried on a broken connection; ResourceExistsError
    only when the row is somebody else's."""
    row = {**entity, WRITER_COLUMN: uuid.uuid4().hex}

    def insert() -> dict[str, Any]:
        try:
            return table.create_entity(row)
        except ResourceExistsError:
            landed = _our_row(table, row)
            if landed is None:
                raise
            return landed

    return _retried(insert)


def insert_batch(table: TableClient, entities: Sequence[dict[str, Any]]) -> list[bool]:
    """Insert-if-absent for many rows of one partition, a transaction per hundred;
    a hundred that meets an existing row or a broken connection goes row by row.
    True for each row this call wrote."""
    token = uuid.uuid4().hex
    created: list[bool] = []
    for start in range(0, len(entities), TRANSACTION_LIMIT):
        chunk = entities[start : start + TRANSACTION_LIMIT]
        created += _insert_chunk(table, [{**row, WRITER_COLUMN: token} for row in chunk])
    return created


def _insert_chunk(table: TableClient, rows: list[dict[str, Any]]) -> list[bool]:
    try:
        table.submit_transaction([("create", row) for row in rows])
    except (TableTransactionError, *_BROKEN):
        return [_insert_row(table, row) for row in rows]
    return [True] * len(rows)


def _insert_row(table: TableClient, row: dict[str, Any]) -> bool:
    try:
        _retried(lambda: table.create_entity(row))
    except ResourceExistsError:
        return _our_row(table, row) is not None
    return True


def merge_entity(table: TableClient, entity: dict[str, Any]) -> dict[str, Any]:
    """An unconditional merge, retried on a broken connection."""
    return _retried(lambda: table.update_entity(entity, mode=UpdateMode.MERGE))


def _retried(write: Callable[[], T]) -> T:
    for attempt in range(TRIES - 1):
        try:
            return write()
        except _BROKEN:
            time.sleep(0.05 * (attempt + 1))
    return write()


def _our_row(table: TableClient, row: dict[str, Any]) -> dict[str, Any] | None:
    """The stored row's metadata when our earlier, unanswered insert wrote it."""
    stored = table.get_entity(row["PartitionKey"], row["RowKey"])
    if stored.get(WRITER_COLUMN) != row[WRITER_COLUMN]:
        return None
    return {"etag": stored.metadata["etag"]}
