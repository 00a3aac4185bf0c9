"""Runs in Azure Table storage (Azurite locally)."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableServiceClient, TableTransactionError, UpdateMode

from shared.errors import Conflict, NotFound, TransientError
from shared.run_ids import parse_run_id, row_key_for
from shared.runs import Run
from shared.storage.odata import one_of
from shared.storage.run_entities import PARTITION, entity_to_run, run_to_entity
from shared.storage.table_writes import insert_batch, insert_entity
from shared.storage.transport import pooled

RUNS_TABLE = "drydockRuns"
COUNTERS_TABLE = "drydockCounters"
SECRETS_TABLE = "drydockRunSecrets"
ID_BLOCK = 8
"""Run numbers one process reserves at a time. Small, so that runs created by
different processes still list in nearly creation order."""
UPDATE_TRIES = 10
"""Read-modify-write rounds ``update`` tries while a builder's lease renewals race it."""


class TableRunStore:
    """RunStore over two tables: the runs and a sequence counter."""

    def __init__(
        self, connection: str, runs_table: str = RUNS_TABLE, counters_table: str = COUNTERS_TABLE
    ) -> None:
        service = TableServiceClient.from_connection_string(connection, **pooled())
        self._runs = service.get_table_client(runs_table)
        self._counters = service.get_table_client(counters_table)
        self._block: list[int] = []
        self._block_lock = threading.Lock()

    def ensure_tables(self) -> None:
        for table in (self._runs, self._counters):
            try:
                table.create_table()
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise TransientError(f"table storage is unreachable: {exc}") from exc

    def allocate_sequence(self) -> int:
        """Next run number. Numbers are reserved from the shared counter in blocks,
        so threads of one process never contend on it and processes rarely do."""
        with self._block_lock:
            if not self._block:
                top = self._reserve_block()
                self._block = list(range(top - ID_BLOCK + 1, top + 1))
            return self._block.pop(0)

    def allocate_sequences(self, count: int) -> list[int]:
        """``count`` consecutive run numbers in one reservation (a fan-out's runs)."""
        if count <= 0:
            return []
        top = self._reserve_block(count)
        return list(range(top - count + 1, top + 1))

    def _reserve_block(self, size: int = ID_BLOCK) -> int:
        """An ETag-guarded increment of the counter by ``size``; retried on contention."""
        for attempt in range(100):
            try:
                return self._increment_counter(size)
            except (ResourceModifiedError, ResourceExistsError):
                time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 10)))
            except AzureError as exc:
                raise TransientError(f"table storage is unreachable: {exc}") from exc
        raise TransientError("could not allocate a run id: too much contention, try again")

    def _increment_counter(self, size: int) -> int:
        try:
            entity = self._counters.get_entity("counter", "runs")
        except ResourceNotFoundError:
            insert_entity(
                self._counters, {"PartitionKey": "counter", "RowKey": "runs", "value": size}
            )
            return size
        value = int(entity["value"]) + size
        self._counters.update_entity(
            {"PartitionKey": "counter", "RowKey": "runs", "value": value},
            mode=UpdateMode.REPLACE,
            etag=entity.metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
        return value

    def insert(self, run: Run) -> None:
        try:
            insert_entity(self._runs, run_to_entity(run))
        except ResourceExistsError as exc:
            raise Conflict(f"run {run.run_id} already exists") from exc
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc

    def insert_many(self, runs: Sequence[Run]) -> None:
        """Runs with freshly allocated ids, written a table transaction per hundred."""
        try:
            created = insert_batch(self._runs, [run_to_entity(run) for run in runs])
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        taken = [run.run_id for run, new in zip(runs, created, strict=True) if not new]
        if taken:
            raise Conflict(f"run(s) {', '.join(taken)} already exist")

    def get(self, run_id: str) -> tuple[Run, str]:
        row_key = row_key_for(parse_run_id(run_id))
        try:
            entity = self._runs.get_entity(PARTITION, row_key)
        except ResourceNotFoundError:
            raise NotFound(f"run {run_id!r} not found") from None
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return entity_to_run(entity), str(entity.metadata["etag"])

    def replace(self, run: Run, etag: str) -> str:
        """Write ``run`` only if nobody changed it since ``etag``; returns the new ETag."""
        try:
            result = self._runs.update_entity(
                run_to_entity(run),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as exc:
            raise Conflict(f"run {run.run_id} was changed concurrently") from exc
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return str(result.get("etag", ""))

    def update(self, run_id: str, change: Callable[[Run], Run]) -> Run:
        """Apply ``change`` to the stored run, ETag-guarded, retried when another
        writer (a builder renewing its lease) came between our read and write.
        ``change`` may raise (Conflict for a refused transition) to leave it as is."""
        for _ in range(UPDATE_TRIES):
            run, etag = self.get(run_id)
            changed = change(run)
            try:
                self.replace(changed, etag)
            except Conflict:
                time.sleep(random.uniform(0.01, 0.05))
                continue
            return changed
        raise TransientError(f"run {run_id} is changing too often to update; try again")

    def delete(self, run_id: str, etag: str) -> bool:
        """Delete the run unless it changed since ``etag``; False when it changed
        (an archive racing a purge wins) or is already gone (a concurrent purge).

        The SDK hides a delete's 404, so two racing deleters would both seem to
        win; claiming the entity with an ETag-guarded merge first picks one."""
        keys = {"PartitionKey": PARTITION, "RowKey": row_key_for(parse_run_id(run_id))}
        guarded = MatchConditions.IfNotModified
        try:
            claim = self._runs.update_entity(
                {**keys, "purging": True}, mode=UpdateMode.MERGE, etag=etag, match_condition=guarded
            )
            self._runs.delete_entity(
                keys["PartitionKey"], keys["RowKey"], etag=claim["etag"], match_condition=guarded
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return True

    def delete_all(self, versions: Sequence[tuple[str, str]]) -> bool:
        """One table transaction of ETag-guarded deletes (at most a hundred): all
        or, when any run changed or is already gone, none. Unlike a lone delete,
        a transaction reports the 404 of a run a concurrent purge took."""
        operations = [
            ("delete", {"PartitionKey": PARTITION, "RowKey": row_key_for(parse_run_id(run_id))},
             {"etag": etag, "match_condition": MatchConditions.IfNotModified})
            for run_id, etag in versions
        ]  # fmt: skip
        try:
            self._runs.submit_transaction(operations)
        except TableTransactionError:
            return False
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return True

    def pages_finished_before(
        self, cutoff: datetime, page_size: int = 100
    ) -> Iterator[list[tuple[Run, str]]]:
        """Runs that finished before ``cutoff`` with their ETags, a page at a time as
        the caller iterates, so memory stays flat however many there are. Unfinished
        runs have no ``finishTime`` column and so never match."""
        query = self._runs.query_entities(
            "PartitionKey eq @pk and finishTime lt @cutoff",
            parameters={"pk": PARTITION, "cutoff": cutoff},
            results_per_page=page_size,
        )
        try:
            for page in query.by_page():
                yield [(entity_to_run(e), str(e.metadata["etag"])) for e in page]
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc

    def list(
        self,
        *,
        task: str | None = None,
        status: str | None = None,
        trigger: str | None = None,
        top: int = 100,
        min_sequence: int | None = None,
    ) -> Iterator[Run]:
        """Newest first. ``min_sequence`` bounds the scan to runs numbered from it on:
        a filter on plain columns otherwise reads the whole partition server-side."""
        listed = self.list_versions(task=task, status=status, trigger=trigger, top=top,
                                    min_sequence=min_sequence)  # fmt: skip
        return (run for run, _ in listed)

    def list_versions(
        self,
        *,
        task: str | None = None,
        status: str | None = None,
        trigger: str | None = None,
        top: int = 100,
        min_sequence: int | None = None,
    ) -> Iterator[tuple[Run, str]]:
        """``list`` with each run's ETag, to change a listed run without reading it again."""
        clauses = ["PartitionKey eq @pk"]
        params: dict[str, Any] = {"pk": PARTITION}
        if min_sequence is not None:
            clauses.append("RowKey le @oldest")
            params["oldest"] = row_key_for(max(1, min_sequence))
        for name, value in (("task", task), ("status", status), ("trigger", trigger)):
            if value:
                clauses.append(f"{name} eq @{name}")
                params[name] = value
        query = self._runs.query_entities(
            " and ".join(clauses), parameters=params, results_per_page=min(top, 1000)
        )
        try:
            for count, entity in enumerate(query):
                if count >= top:
                    return
                yield entity_to_run(entity), str(entity.metadata["etag"])
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc


class TableSecretStore:
    """Secret build-arg values, apart from the run record and deleted when it ends."""

    def __init__(self, connection: str, table: str = SECRETS_TABLE) -> None:
        self._table = TableServiceClient.from_connection_string(
            connection, **pooled()
        ).get_table_client(table)

    def ensure_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._table.create_table()

    def put(self, run_id: str, secrets: dict[str, str]) -> None:
        try:
            self._table.upsert_entity(
                {"PartitionKey": run_id, "RowKey": "args", "values": json.dumps(secrets)}
            )
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc

    def get(self, run_id: str) -> dict[str, str]:
        try:
            entity = self._table.get_entity(run_id, "args")
        except ResourceNotFoundError:
            return {}
        except AzureError as exc:
            raise TransientError(f"table storage is unreachable: {exc}") from exc
        return dict(json.loads(entity["values"]))

    def delete(self, run_id: str) -> None:
        with contextlib.suppress(AzureError):  # a leftover entity is harmless; purged later
            self._table.delete_entity(run_id, "args")

    def delete_many(self, run_ids: Sequence[str]) -> None:
        """One query finds which of the runs still hold secrets (the builder deletes
        them when a run ends, so usually none), and only those are deleted."""
        if not run_ids:
            return
        clause, params = one_of("PartitionKey", run_ids)
        with contextlib.suppress(AzureError):  # a leftover entity is harmless; purged later
            found = self._table.query_entities(
                f"{clause} and RowKey eq @args", parameters={**params, "args": "args"}
            )
            for entity in list(found):
                self.delete(entity["PartitionKey"])
