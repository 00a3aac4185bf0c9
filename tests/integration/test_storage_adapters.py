"""Storage adapters against the real Azurite."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Conflict, NotFound
from shared.run_ids import format_run_id
from shared.runs import BuildSpec, Run, RunStatus, Trigger
from shared.storage.blobs import BlobLogStore
from shared.storage.queues import StorageQueue
from shared.storage.tables import TableRunStore, TableSecretStore

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def runs(storage_connection, unique_name):
    store = TableRunStore(storage_connection, f"{unique_name}runs", f"{unique_name}ctr")
    store.ensure_tables()
    yield store
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(storage_connection)
    service.delete_table(f"{unique_name}runs")
    service.delete_table(f"{unique_name}ctr")


def _run(seq: int, **changes) -> Run:
    fields = dict(
        run_id=format_run_id(seq),
        status=RunStatus.QUEUED,
        trigger=Trigger.MANUAL,
        create_time=NOW,
        spec=BuildSpec(context="upload"),
    )
    return Run(**{**fields, **changes})


def test_concurrent_id_allocation_never_repeats(runs):
    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(lambda _: runs.allocate_sequence(), range(200)))
    assert sorted(numbers) == list(range(1, 201))


def test_two_processes_allocating_at_once_never_repeat(runs, storage_connection, unique_name):
    other = TableRunStore(storage_connection, f"{unique_name}runs", f"{unique_name}ctr")
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(
            pool.map(lambda i: (runs if i % 2 else other).allocate_sequence(), range(300))
        )
    assert len(set(numbers)) == 300


def test_a_block_reserved_for_a_fan_out_is_consecutive_and_shared_with_nobody(runs):
    with ThreadPoolExecutor(max_workers=4) as pool:
        singles = pool.submit(lambda: [runs.allocate_sequence() for _ in range(40)])
        blocks = list(pool.map(runs.allocate_sequences, [250, 250, 0]))
    for block in blocks[:2]:
        assert block == list(range(block[0], block[0] + 250))
    assert blocks[2] == []
    every = singles.result() + blocks[0] + blocks[1]
    assert len(set(every)) == 540


def test_many_runs_inserted_in_batches_read_back_and_a_taken_id_conflicts(runs):
    runs.insert_many([_run(seq, task="fan") for seq in range(1, 251)])
    assert len(list(runs.list(task="fan", top=1000))) == 250
    assert runs.get(format_run_id(123))[0].task == "fan"
    with pytest.raises(Conflict, match=format_run_id(250)):
        runs.insert_many([_run(250), _run(251)])
    assert runs.get(format_run_id(251))[0].status is RunStatus.QUEUED  # the free one is written


def test_runs_list_newest_first_with_filters(runs):
    for seq in range(1, 8):
        runs.insert(_run(seq, task="web" if seq % 2 else "api"))
    listed = [run.run_id for run in runs.list(top=100)]
    assert listed == [format_run_id(n) for n in range(7, 0, -1)]
    assert [r.run_id for r in runs.list(task="api", top=2)] == ["dd6", "dd4"]
    assert list(runs.list(status="Succeeded", top=10)) == []
    # A bounded key range: only the newest numbers are read.
    assert [r.run_id for r in runs.list(min_sequence=5, top=100)] == ["dd7", "dd6", "dd5"]
    assert [r.run_id for r in runs.list(task="api", min_sequence=5, top=100)] == ["dd6"]


def test_listed_versions_change_a_run_only_if_nobody_did_since(runs):
    for seq in range(1, 4):
        runs.insert(_run(seq, task="web"))
    listed = dict((run.run_id, etag) for run, etag in runs.list_versions(task="web", top=10))
    assert sorted(listed) == ["dd1", "dd2", "dd3"]
    run, _ = runs.get("dd2")
    runs.replace(run.finished(RunStatus.CANCELED, NOW), listed["dd2"])
    with pytest.raises(Conflict):  # the listing's ETag is stale now
        runs.replace(run.started(NOW), listed["dd2"])
    assert runs.get("dd2")[0].status is RunStatus.CANCELED


def test_replace_is_guarded_by_etag(runs):
    runs.insert(_run(1))
    run, etag = runs.get("dd1")
    runs.replace(run.started(NOW), etag)
    with pytest.raises(Conflict):
        runs.replace(run.finished(RunStatus.CANCELED, NOW), etag)
    assert runs.get("dd1")[0].status is RunStatus.RUNNING


def test_insert_twice_conflicts_and_unknown_is_not_found(runs):
    runs.insert(_run(3))
    with pytest.raises(Conflict):
        runs.insert(_run(3))
    with pytest.raises(NotFound):
        runs.get("dd4")
    with pytest.raises(NotFound):
        runs.get("not-a-run")


def test_log_append_and_read_from_offset(storage_connection, unique_name):
    logs = BlobLogStore(storage_connection, container=unique_name)
    logs.ensure_container()
    assert logs.read("dd1", 0) == b""
    logs.create("dd1")
    logs.append("dd1", b"hello ")
    logs.append("dd1", b"world\n")
    logs.create("dd1")  # a retaken run keeps its earlier log
    assert logs.read("dd1", 0) == b"hello world\n"
    assert logs.read("dd1", 6) == b"world\n"
    assert logs.read("dd1", 12) == b""


def test_a_pages_logs_and_secrets_go_in_batches_and_missing_ones_are_fine(
    storage_connection, unique_name
):
    logs = BlobLogStore(storage_connection, container=unique_name)
    logs.ensure_container()
    secrets = TableSecretStore(storage_connection, f"{unique_name}sec")
    secrets.ensure_table()
    ids = [format_run_id(n) for n in range(1, 301)]
    for run_id in ids[:3] + ids[-2:]:
        logs.create(run_id)
        logs.append(run_id, b"line\n")
    secrets.put(ids[0], {"TOKEN": "x"})
    secrets.put(ids[150], {"TOKEN": "y"})
    secrets.put("dd-other", {"TOKEN": "kept"})
    logs.delete_many(ids)
    secrets.delete_many(ids[:100])
    secrets.delete_many(ids[100:200])
    assert all(logs.read(run_id, 0) == b"" for run_id in ids[:3] + ids[-2:])
    assert secrets.get(ids[0]) == {} and secrets.get(ids[150]) == {}
    assert secrets.get("dd-other") == {"TOKEN": "kept"}
    logs.delete_many([])


def test_queue_round_trip_is_base64_json(storage_connection, unique_name):
    from azure.storage.queue import QueueClient

    queue = StorageQueue(storage_connection, unique_name)
    queue.ensure_queue()
    queue.send({"runId": "dd1"})
    raw = QueueClient.from_connection_string(storage_connection, unique_name).peek_messages()[0]
    assert raw.content == "eyJydW5JZCI6ICJkZDEifQ=="
    (delivery,) = list(queue.receive(16, 30))
    assert delivery.body == {"runId": "dd1"} and delivery.dequeue_count == 1
    queue.extend(delivery, 30)
    queue.delete(delivery)
    assert list(queue.receive(16, 1)) == []
    QueueClient.from_connection_string(storage_connection, unique_name).delete_queue()


def _finished(seq: int) -> Run:
    return _run(seq, status=RunStatus.SUCCEEDED, finish_time=NOW)


def test_a_page_of_finished_runs_is_deleted_all_or_nothing(runs):
    runs.insert_many([_finished(seq) for seq in range(1, 8)])
    pages = list(runs.pages_finished_before(NOW + timedelta(seconds=1), page_size=3))
    assert [len(page) for page in pages] == [3, 3, 1]
    first = [(run.run_id, etag) for run, etag in pages[0]]
    run, etag = runs.get(first[1][0])
    runs.replace(replace(run, archived=True), etag)  # archived after the listing
    assert runs.delete_all(first) is False
    assert all(runs.get(run_id) for run_id, _ in first)  # nothing of the page went
    second = [(run.run_id, etag) for run, etag in pages[1]]
    assert runs.delete_all(second) is True
    left = {run.run_id for page in runs.pages_finished_before(NOW, 100) for run, _ in page}
    assert not left & {run_id for run_id, _ in second}


def test_two_purges_deleting_one_page_at_once_one_wins(runs):
    runs.insert_many([_finished(seq) for seq in range(1, 51)])
    page = [
        (run.run_id, etag)
        for run, etag in next(runs.pages_finished_before(NOW + timedelta(seconds=1), 100))
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: runs.delete_all(page), range(2)))
    assert sorted(outcomes) == [False, True]
