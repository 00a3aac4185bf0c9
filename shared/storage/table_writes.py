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
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import ResourceExistsError, ServiceRequestError, ServiceResponseError
from azure.data.tables import TableClient, UpdateMode

WRITER_COLUMN = "writerToken"
TRIES = 3
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
