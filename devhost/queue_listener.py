"""Queue triggers with the host's defaults (host.json ``extensions.queues``).

Messages are base64 (``messageEncoding: base64``); batches of 16, a new batch
once at most 8 are still running; a message that fails is made visible again
at once, and after its fifth dequeue moved to ``<queue>-poison`` unchanged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor

from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueClient, QueueMessage

from devhost.discovery import QueueFunction
from devhost.invoke import Invoker

logger = logging.getLogger(__name__)

BATCH_SIZE = 16
NEW_BATCH_THRESHOLD = BATCH_SIZE // 2
MAX_DEQUEUE_COUNT = 5
VISIBILITY_TIMEOUT_SECONDS = 300
"""Invisible this long while a function works on it; then another poll may take it."""
MIN_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 2.0
POISON_SUFFIX = "-poison"


def next_poll_delay(current: float, found_messages: bool) -> float:
    """Back off exponentially while the queue is empty, start over when it is not."""
    if found_messages:
        return MIN_POLL_SECONDS
    return min(max(current, MIN_POLL_SECONDS / 2) * 2, MAX_POLL_SECONDS)


def decode_body(content: str) -> bytes:
    """Base64 message text to the bytes the function gets; ValueError when not base64."""
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"message is not base64: {exc}") from exc


def to_function_message(message: QueueMessage) -> FunctionQueueMessage:
    return FunctionQueueMessage(
        id=message.id,
        body=decode_body(message.content or ""),
        dequeue_count=message.dequeue_count,
        insertion_time=message.inserted_on,
        expiration_time=message.expires_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


class QueueListener:
    """Polls one queue for one function and runs each message on ``executor``."""

    def __init__(
        self,
        function: QueueFunction,
        queue: QueueClient,
        poison: QueueClient,
        invoker: Invoker,
        executor: Executor,
    ) -> None:
        self.function = function
        self._queue = queue
        self._poison = poison
        self._invoker = invoker
        self._executor = executor
        self._stop = threading.Event()
        self._in_flight = 0
        self._changed = threading.Condition()
        self._queue_exists = False
        self._thread = threading.Thread(
            target=self._poll, name=f"devhost-queue-{queue.queue_name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace_seconds: float) -> None:
        """Stop polling and give running messages ``grace_seconds`` to finish."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeout=MAX_POLL_SECONDS + 30)
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight == 0, timeout=grace_seconds)

    def _poll(self) -> None:
        delay = MIN_POLL_SECONDS
        while not self._stop.is_set():
            with self._changed:
                self._changed.wait_for(
                    lambda: self._in_flight <= NEW_BATCH_THRESHOLD or self._stop.is_set()
                )
            if self._stop.is_set():
                return
            messages = self._receive()
            for message in messages:
                self._submit(message)
            delay = next_poll_delay(delay, bool(messages))
            if not messages:
                self._stop.wait(delay)

    def _receive(self) -> list[QueueMessage]:
        try:
            self._ensure_queue()
            pages = self._queue.receive_messages(
                messages_per_page=BATCH_SIZE, visibility_timeout=VISIBILITY_TIMEOUT_SECONDS
            ).by_page()
            # One page is one request; iterating further would poll again at once.
            return list(next(pages, []))
        except Exception:  # storage down: log, back off, keep polling
            logger.exception("polling queue %s failed", self._queue.queue_name)
            return []

    def _ensure_queue(self) -> None:
        if not self._queue_exists:
            _create_if_missing(self._queue)
            self._queue_exists = True

    def _submit(self, message: QueueMessage) -> None:
        with self._changed:
            self._in_flight += 1
        try:
            self._executor.submit(self._process, message)
        except RuntimeError:  # executor shut down: the message reappears later
            self._done()

    def _done(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()

    def _process(self, message: QueueMessage) -> None:
        try:
            self._invoker.invoke(self.function, to_function_message(message))
        except Exception:
            logger.exception(
                "function %s failed on message %s (dequeue %d)",
                self.function.name,
                message.id,
                message.dequeue_count or 0,
            )
            self._settle_failure(message)
        else:
            self._settle(lambda: self._queue.delete_message(message), message)
        finally:
            self._done()

    def _settle_failure(self, message: QueueMessage) -> None:
        if (message.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
            self._settle(lambda: self._move_to_poison(message), message)
        else:
            self._settle(lambda: self._queue.update_message(message, visibility_timeout=0), message)

    def _move_to_poison(self, message: QueueMessage) -> None:
        _create_if_missing(self._poison)
        self._poison.send_message(message.content)
        self._queue.delete_message(message)
        logger.warning(
            "message %s moved to %s after %d dequeues",
            message.id,
            self._poison.queue_name,
            message.dequeue_count,
        )

    def _settle(self, action: Callable[[], object], message: QueueMessage) -> None:
        try:
            action()
        except Exception:  # the visibility timeout brings it back: nothing is lost
            logger.exception("settling message %s on %s failed", message.id, self._queue.queue_name)


def _create_if_missing(queue: QueueClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()


def queue_clients(connection_string: str, queue_name: str) -> tuple[QueueClient, QueueClient]:
    """Clients for a queue and its poison queue; message text is passed through as-is."""
    return (
        QueueClient.from_connection_string(connection_string, queue_name),
        QueueClient.from_connection_string(connection_string, queue_name + POISON_SUFFIX),
    )
