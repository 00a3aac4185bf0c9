"""Table writes whose answer is lost on the way back, against the real Azurite
through a proxy that resets the connection after Azurite has done the write."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import TableServiceClient

from shared.errors import Conflict
from shared.storage.table_writes import insert_batch, insert_entity, merge_entity
from shared.storage.task_tables import TableDeliveryStore
from tests.support.reset_proxy import reset_proxy

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _table_endpoint(connection: str) -> tuple[str, int]:
    endpoint = re.search(r"TableEndpoint=([^;]+)", connection).group(1)
    url = urlparse(endpoint)
    return url.hostname or "127.0.0.1", url.port or 10002


def _through(connection: str, port: int) -> str:
    return re.sub(r"(TableEndpoint=http://[^:/]+):\d+", rf"\g<1>:{port}", connection)


@pytest.fixture
def table_name(storage_connection, unique_name):
    name = f"{unique_name}writes"
    service = TableServiceClient.from_connection_string(storage_connection)
    service.create_table(name)
    yield name
    service.delete_table(name)


def _row() -> dict[str, str]:
    return {"PartitionKey": "p", "RowKey": uuid.uuid4().hex, "value": "ours"}


def _client(connection: str, table: str):
    return TableServiceClient.from_connection_string(connection).get_table_client(table)


def test_the_proxy_really_breaks_a_plain_insert(storage_connection, table_name):
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        table = _client(_through(storage_connection, proxy.port), table_name)
        with pytest.raises(AzureError):
            table.create_entity(_row())
    assert proxy.broken == 1


def test_an_insert_whose_answer_was_lost_counts_as_ours(storage_connection, table_name):
    row = _row()
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        result = insert_entity(_client(_through(storage_connection, proxy.port), table_name), row)
    assert proxy.broken == 1
    stored = _client(storage_connection, table_name).get_entity("p", row["RowKey"])
    assert stored["value"] == "ours"
    assert result["etag"] == stored.metadata["etag"]


def test_somebody_elses_row_is_still_a_conflict_after_a_lost_answer(storage_connection, table_name):
    row = _row()
    _client(storage_connection, table_name).create_entity({**row, "value": "theirs"})
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        table = _client(_through(storage_connection, proxy.port), table_name)
        with pytest.raises(ResourceExistsError):
            insert_entity(table, row)
    assert proxy.broken == 1
    stored = _client(storage_connection, table_name).get_entity("p", row["RowKey"])
    assert stored["value"] == "theirs"


def test_a_merge_whose_answer_was_lost_is_sent_again(storage_connection, table_name):
    row = _row()
    _client(storage_connection, table_name).create_entity(row)
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        table = _client(_through(storage_connection, proxy.port), table_name)
        merge_entity(table, {"PartitionKey": "p", "RowKey": row["RowKey"], "answer": "42"})
    assert proxy.broken == 1
    stored = _client(storage_connection, table_name).get_entity("p", row["RowKey"])
    assert (stored["value"], stored["answer"]) == ("ours", "42")


def test_a_delivery_claim_survives_a_lost_answer_and_a_repeat_still_conflicts(
    storage_connection, table_name
):
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        store = TableDeliveryStore(_through(storage_connection, proxy.port), table_name)
        store.insert("delivery-1", now=NOW)
        with pytest.raises(Conflict):
            store.insert("delivery-1", now=NOW)
    assert proxy.broken == 1


def test_a_batch_writes_what_is_free_and_leaves_somebody_elses_rows(storage_connection, table_name):
    rows = [_row() for _ in range(150)]
    _client(storage_connection, table_name).create_entity({**rows[120], "value": "theirs"})
    created = insert_batch(_client(storage_connection, table_name), rows)
    assert created == [index != 120 for index in range(150)]
    stored = {
        row["RowKey"]: row["value"]
        for row in _client(storage_connection, table_name).list_entities()
    }
    assert len(stored) == 150 and stored[rows[120]["RowKey"]] == "theirs"


def test_a_batch_whose_answer_was_lost_is_all_ours(storage_connection, table_name):
    rows = [_row() for _ in range(30)]
    with reset_proxy(_table_endpoint(storage_connection), broken_answers=1) as proxy:
        created = insert_batch(_client(_through(storage_connection, proxy.port), table_name), rows)
    assert proxy.broken == 1
    assert created == [True] * 30
    assert len(list(_client(storage_connection, table_name).list_entities())) == 30


def test_two_batches_racing_for_the_same_rows_win_each_row_once(storage_connection, table_name):
    rows = [_row() for _ in range(200)]
    table = _client(storage_connection, table_name)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: insert_batch(table, rows), range(2))
    assert [a + b for a, b in zip(first, second, strict=True)] == [1] * 200
