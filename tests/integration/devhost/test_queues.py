"""Queue triggers against Azurite: base64 delivery, retries, and the poison queue."""

from __future__ import annotations

import base64
import contextlib
import queue
from collections.abc import Iterator

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devhost.discovery import discover
from devhost.queue_listener import MAX_DEQUEUE_COUNT
from shared.settings import STORAGE
from tests.integration.devhost.conftest import wait_until

pytestmark = pytest.mark.integration

app = func.FunctionApp()
received: queue.Queue[func.QueueMessage] = queue.Queue()
attempts: queue.Queue[int] = queue.Queue()


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_OK_QUEUE%", connection=STORAGE)
def on_message(msg: func.QueueMessage) -> None:
    received.put(msg)


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_FAIL_QUEUE%", connection="DEVHOST_CONN")
async def always_fails(msg: func.QueueMessage) -> None:
    attempts.put(msg.dequeue_count)
    raise RuntimeError("this message can never be processed")


FUNCTIONS = {f.name: f for f in discover(app)}


@pytest.fixture
def queues(storage_connection, unique_name) -> Iterator[dict[str, QueueClient]]:
    """The test's queue and its poison queue, deleted afterwards.

    Tests ask for it before ``start_host``, so the host stops before they go.
    """
    clients = {
        name: QueueClient.from_connection_string(storage_connection, name)
        for name in (unique_name, f"{unique_name}-poison")
    }
    yield clients
    for client in clients.values():
        with contextlib.suppress(ResourceNotFoundError):
            client.delete_queue()


def _drain(q: queue.Queue) -> None:
    while not q.empty():
        q.get_nowait()


def test_a_base64_message_arrives_as_its_bytes_and_is_deleted(queues, start_host, unique_name):
    _drain(received)
    payload = b'{"runId": "r1"}\x00\xfe'
    start_host([FUNCTIONS["on_message"]], {"DEVHOST_OK_QUEUE": unique_name})
    source = queues[unique_name]
    wait_until(lambda: _exists(source), timeout=5)  # the listener creates it
    sent = source.send_message(base64.b64encode(payload).decode())

    message = received.get(timeout=10)
    assert message.get_body() == payload
    assert message.id == sent.id
    assert message.dequeue_count == 1
    assert message.insertion_time is not None
    assert message.expiration_time is not None
    assert message.pop_receipt
    wait_until(lambda: source.get_queue_properties().approximate_message_count == 0, timeout=5)


def test_many_messages_are_all_delivered_once(queues, start_host, unique_name):
    _drain(received)
    source = queues[unique_name]
    source.create_queue()
    bodies = {f"message {i}".encode() for i in range(40)}
    for body in bodies:
        source.send_message(base64.b64encode(body).decode())
    start_host([FUNCTIONS["on_message"]], {"DEVHOST_OK_QUEUE": unique_name})

    got = [received.get(timeout=10).get_body() for _ in bodies]
    assert sorted(got) == sorted(bodies)


def test_a_failing_message_ends_in_the_poison_queue_intact(
    queues, start_host, unique_name, storage_connection
):
    _drain(attempts)
    content = base64.b64encode(b'{"bad": true}').decode()
    source, poison = queues[unique_name], queues[f"{unique_name}-poison"]
    source.create_queue()
    source.send_message(content)
    start_host(
        [FUNCTIONS["always_fails"]],
        {"DEVHOST_FAIL_QUEUE": unique_name, "DEVHOST_CONN": storage_connection},
    )

    poisoned = wait_until(lambda: _exists(poison) and list(poison.peek_messages()), timeout=30)
    assert [m.content for m in poisoned] == [content]
    assert [attempts.get(timeout=1) for _ in range(MAX_DEQUEUE_COUNT)] == [1, 2, 3, 4, 5]
    wait_until(lambda: source.get_queue_properties().approximate_message_count == 0, timeout=5)
    assert attempts.empty()


def _exists(client: QueueClient) -> bool:
    try:
        client.get_queue_properties()
    except ResourceNotFoundError:
        return False
    return True
