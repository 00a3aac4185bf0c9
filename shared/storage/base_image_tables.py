"""The dependency index in Table storage.

One partition per base reference (URL-quoted: keys may not hold ``/``): a row
per dependent task (row key = task name) and one ``~observed`` row with what the
registry last reported. Trigger marks live in their own table, one row per
(task, base, new digest), written insert-if-absent: that is what makes a
rebuild happen exactly once however many pollers and webhooks race. A
partition per (base, new digest) lets one update claim its marks a table
transaction per hundred dependents.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from shared.base_image_poll import TrackedBase
from shared.base_images import Dependent, Rebuild, trigger_mark
from shared.errors import TransientError
from shared.storage.table_writes import insert_batch, insert_entity
from shared.storage.transport import pooled

INDEX_TABLE = "drydockBaseImages"
MARKS_TABLE = "drydockBaseImageTriggers"
OBSERVED = "~observed"


class BaseImageIndex:
    def __init__(
        self, connection: str, index_table: str = INDEX_TABLE, marks_table: str = MARKS_TABLE
    ) -> None:
        service = TableServiceClient.from_connection_string(connection, **pooled())
        self._index = service.get_table_client(index_table)
        self._marks = service.get_table_client(marks_table)

    def ensure_tables(self) -> None:
        for table in (self._index, self._marks):
            with contextlib.suppress(ResourceExistsError):
                table.create_table()

    def register(self, dependent: Dependent) -> None:
        """Record (or refresh) that ``dependent.task`` uses ``dependent.image``."""
        entity = {
            "PartitionKey": quote(dependent.image, safe=""),
            "RowKey": dependent.task,
            "image": dependent.image,
            "kind": dependent.kind,
            "builtWith": dependent.built_with or "",
            "platform": dependent.platform,
        }
        self._call(self._index.upsert_entity, entity, mode=UpdateMode.REPLACE)
        self._ensure_observed_row(dependent.image)

    def unregister(self, task: str, image: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._call(self._index.delete_entity, quote(image, safe=""), task)

    def dependents(self, image: str) -> list[Dependent]:
        rows = self._query(
            "PartitionKey eq @pk and RowKey ne @obs", {"pk": quote(image, safe=""), "obs": OBSERVED}
        )
        return [_dependent(row) for row in rows]

    def uses_of(self, task: str) -> list[Dependent]:
        """Every base ``task`` depends on (a scan across partitions by row key)."""
        return [_dependent(row) for row in self._query("RowKey eq @task", {"task": task})]

    def bases(self) -> Iterator[TrackedBase]:
        """Every base with its dependents and last observation, in one pass over
        the table, a page per thousand rows. Rows come sorted by partition, so a
        base is complete when the partition changes."""
        rows: list[dict[str, Any]] = []
        for row in self._all_rows():
            if rows and row["PartitionKey"] != rows[0]["PartitionKey"]:
                yield _tracked(rows)
                rows = []
            rows.append(row)
        if rows:
            yield _tracked(rows)

    def observed(self, image: str) -> dict[str, Any] | None:
        try:
            row = self._index.get_entity(quote(image, safe=""), OBSERVED)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return json.loads(row.get("view") or "null")

    def save_observed(self, image: str, view: dict[str, Any], now: datetime) -> None:
        entity = {
            "PartitionKey": quote(image, safe=""),
            "RowKey": OBSERVED,
            "image": image,
            "view": json.dumps(view),
            "checkedAt": now,
        }
        self._call(self._index.upsert_entity, entity, mode=UpdateMode.REPLACE)

    def claim_rebuilds(self, rebuilds: Sequence[Rebuild]) -> list[bool]:
        """Insert-if-absent of each rebuild's mark: True where this caller won it."""
        claimed = dict.fromkeys(rebuilds, False)
        for group in _by_partition(rebuilds).values():
            rows = [_mark_row(rebuild) for rebuild in group]
            try:
                won = insert_batch(self._marks, rows)
            except AzureError as exc:
                raise TransientError(f"table storage is unreachable: {exc}") from exc
            claimed.update(zip(group, won, strict=True))
        return [claimed[rebuild] for rebuild in rebuilds]

    def release_rebuilds(self, rebuilds: Sequence[Rebuild]) -> None:
        """Forget marks whose run could not be started, so the next check retries."""
        for rebuild in rebuilds:
            with contextlib.suppress(AzureError):
                self._marks.delete_entity(*trigger_mark(rebuild))

    def _ensure_observed_row(self, image: str) -> None:
        entity = {
            "PartitionKey": quote(image, safe=""),
            "RowKey": OBSERVED,
            "image": image,
            "view": "null",
        }
        with contextlib.suppress(ResourceExistsError):
            self._call(insert_entity, self._index, entity)

    def _all_rows(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self._index.list_entities(results_per_page=1000)
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc

    def _query(self, text: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            yield from self._index.query_entities(text, parameters=params, results_per_page=1000)
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc

    @staticmethod
    def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (ResourceExistsError, ResourceNotFoundError):
            raise
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc


def _tracked(rows: list[dict[str, Any]]) -> TrackedBase:
    observed = next((row for row in rows if row["RowKey"] == OBSERVED), None)
    return TrackedBase(
        image=unquote(rows[0]["PartitionKey"]),
        dependents=[_dependent(row) for row in rows if row["RowKey"] != OBSERVED],
        observed=json.loads(observed.get("view") or "null") if observed else None,
    )


def _mark_row(rebuild: Rebuild) -> dict[str, Any]:
    partition, row = trigger_mark(rebuild)
    return {"PartitionKey": partition, "RowKey": row, "task": rebuild.task, **rebuild.update()}


def _by_partition(rebuilds: Sequence[Rebuild]) -> dict[str, list[Rebuild]]:
    groups: dict[str, list[Rebuild]] = {}
    for rebuild in rebuilds:
        groups.setdefault(trigger_mark(rebuild)[0], []).append(rebuild)
    return groups


def _dependent(row: dict[str, Any]) -> Dependent:
    return Dependent(
        task=row["RowKey"],
        image=row["image"],
        kind=row["kind"],
        built_with=row.get("builtWith") or None,
        platform=row.get("platform") or "linux/amd64",
    )
