"""The builder's loop: take build requests off the queue and run them.

A message stays invisible while its run goes (extended in the background), so
a second builder normally never receives the same run; it is deleted only once
the run's outcome is recorded. Should it be received anyway (the holder died
or missed an extension), the run's own lease decides (builder/run_lease.py).
A message whose run is not ours to finish is made visible again soon, or at
once when the builder hands its runs back on shutdown. Polling is fast when
idle because pickup latency is part of every build's wall time. After a run
stops on a fault (its handler raised), no new run is taken until ``ready``
says the builder can run one again (the Docker Engine answers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.runs import Run
from shared.storage.queues import Delivery, StorageQueue

log = logging.getLogger(__name__)

FIRST_IDLE_POLL_SECONDS = 0.01

RunHandler = Callable[[str, int], "Run | None"]
OtherHandler = Callable[[dict[str, Any]], None]


class Worker:
    def __init__(
        self,
        queue: StorageQueue,
        handle_run: RunHandler,
        concurrency: int,
        lease_seconds: float = 60,
        hand_back: threading.Event | None = None,
        handle_other: OtherHandler | None = None,
        max_idle_poll_seconds: float = 0.1,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self._queue = queue
        self._max_idle_poll = max_idle_poll_seconds
        self._handle_run = handle_run
        # Messages without a run id: best-effort chores such as dependency discovery.
        self._handle_other = handle_other or (lambda body: None)
        self._visibility = max(1, round(lease_seconds))
        self._hand_back = hand_back or threading.Event()
        self._slots = threading.Semaphore(concurrency)
        self._concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
        self._ready = ready or (lambda: True)
        self._faulted = threading.Event()

    def serve(self, stop: threading.Event) -> None:
        """Until ``stop`` is set; then waits for the runs in hand to finish (or,
        once ``hand_back`` is set, to stop and be handed back)."""
        idle = FIRST_IDLE_POLL_SECONDS
        while not stop.is_set():
            taken = self._take_work() if self._may_take_work() else 0
            idle = FIRST_IDLE_POLL_SECONDS if taken else min(idle * 2, self._max_idle_poll)
            if not taken:
                stop.wait(idle)
        self._pool.shutdown(wait=True)

    def _may_take_work(self) -> bool:
        """False while the fault that stopped a run lasts: a run taken now would
        fail the same way and spend one of its few attempts."""
        if not self._faulted.is_set():
            return True
        if not self._ready():
            return False
        log.info("ready again after a fault: taking runs")
        self._faulted.clear()
        return True

    def _take_work(self) -> int:
        free = self._free_slots()
        if not free:
            return 0
        try:
            deliveries = list(self._queue.receive(free, self._visibility))
        except Exception:  # noqa: BLE001 - storage blips must not end the builder
            log.warning("receiving from %s failed; retrying", self._queue.name, exc_info=True)
            deliveries = []
        for delivery in deliveries:
            self._pool.submit(self._process, delivery)
        for _ in range(free - len(deliveries)):
            self._slots.release()
        return len(deliveries)

    def _free_slots(self) -> int:
        """Slots acquired for new work: waits briefly for one, then takes any others free."""
        if not self._slots.acquire(timeout=0.5):
            return 0
        free = 1
        while free < self._concurrency and self._slots.acquire(blocking=False):
            free += 1
        return free

    def _process(self, delivery: Delivery) -> None:
        holder = MessageHolder(self._queue, delivery, self._visibility)
        holder.start()
        try:
            run_id = str(delivery.body.get("runId", ""))
            if not run_id:
                self._handle_other(delivery.body)
            outcome = self._handle_run(run_id, delivery.dequeue_count) if run_id else None
            holder.stop()
            if outcome is not None or not run_id:
                self._queue.delete(delivery)
            else:
                self._queue.extend(delivery, self._look_again_in())
        except Exception:  # noqa: BLE001 - the message reappears and is retried
            holder.stop()
            self._faulted.set()
            log.exception("run of message %s failed; it will be retried", delivery.message_id)
        finally:
            self._slots.release()

    def _look_again_in(self) -> int:
        """Seconds until a message whose run is not ours shows again: at once when
        handed back; else soon enough to retake within a lease of its holder dying."""
        return 0 if self._hand_back.is_set() else max(1, self._visibility // 3)


class MessageHolder:
    """Keeps one message invisible until stopped."""

    def __init__(self, queue: StorageQueue, delivery: Delivery, visibility_seconds: int) -> None:
        self._queue = queue
        self._delivery = delivery
        self._visibility = visibility_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _loop(self) -> None:
        # A third of the visibility: two extensions may fail before it lapses.
        while not self._stopped.wait(self._visibility / 3):
            try:
                self._queue.extend(self._delivery, self._visibility)
            except Exception:  # noqa: BLE001 - try again next tick; the lease has slack
                log.warning("extending message %s failed", self._delivery.message_id, exc_info=True)
