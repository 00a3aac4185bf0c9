"""Queue messages as the Functions host reads them: JSON, base64-encoded
(host.json ``extensions.queues.messageEncoding: base64``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage

from shared.errors import TransientError
from shared.storage.transport import pooled

BUILD_REQUESTS_QUEUE = "build-requests"
RUN_EVENTS_QUEUE = "run-events"
RUN_EVENTS_POISON_QUEUE = RUN_EVENTS_QUEUE + "-poison"
"""Where the host moves a run event after its fifth failed dequeue."""
NOTIFICATIONS_QUEUE = "notifications"
"""One message per notification delivery attempt (``shared/notifications.py``)."""


def encode_message(message: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(message).encode()).decode()


def decode_message(content: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(content)))


@dataclass
class Delivery:
    """One received message and the receipt that proves we hold it."""

    message_id: str
    pop_receipt: str
    dequeue_count: int
    body: dict[str, Any]


class StorageQueue:
    def __init__(self, connection: str, name: str) -> None:
        self.name = name
        self._client = QueueClient.from_connection_string(connection, name, **pooled())

    def ensure_queue(self) -> None:
        try:
            self._client.create_queue()
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise TransientError(f"queue storage is unreachable: {exc}") from exc

    def send(self, message: dict[str, Any], visibility_timeout: int | None = None) -> None:
        """Enqueue ``message``; with ``visibility_timeout``, it appears that many seconds later."""
        try:
            self._client.send_message(
                encode_message(message), visibility_timeout=visibility_timeout
            )
        except AzureError as exc:
            raise TransientError(f"could not enqueue on {self.name}: {exc}") from exc

    def receive(self, max_messages: int, visibility_timeout: int) -> Iterator[Delivery]:
        pages = self._client.receive_messages(
            max_messages=max_messages, visibility_timeout=visibility_timeout
        )
        for raw in pages:
            yield self._delivery(raw)
            max_messages -= 1
            if max_messages <= 0:
                return

    def extend(self, delivery: Delivery, visibility_timeout: int) -> None:
        """Keep holding the message; updates the delivery's pop receipt."""
        receipt = self._client.update_message(
            delivery.message_id, delivery.pop_receipt, visibility_timeout=visibility_timeout
        )
        delivery.pop_receipt = receipt.pop_receipt or delivery.pop_receipt

    def delete(self, delivery: Delivery) -> None:
        self._client.delete_message(delivery.message_id, delivery.pop_receipt)

    @staticmethod
    def _delivery(raw: QueueMessage) -> Delivery:
        try:
            body = decode_message(raw.content)
        except ValueError:
            body = {"_undecodable": str(raw.content)[:200]}
        return Delivery(raw.id, raw.pop_receipt or "", raw.dequeue_count or 1, body)
