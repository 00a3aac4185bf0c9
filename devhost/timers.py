"""Timer triggers: NCRONTAB schedules in UTC, fired only by the lease holder."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devhost.discovery import TimerFunction
from devhost.invoke import Invoker
from devhost.leases import SingletonLease
from devhost.ncrontab import next_occurrence

logger = logging.getLogger(__name__)

PAST_DUE_SECONDS = 5.0
"""A fire later than this after its occurrence is reported as ``past_due``."""
_MAX_SLEEP_SECONDS = 30.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def timer_request(scheduled: datetime, following: datetime, now: datetime) -> TimerRequest:
    """What the function gets, with the schedule status the real host passes."""
    return TimerRequest(
        past_due=(now - scheduled).total_seconds() > PAST_DUE_SECONDS,
        schedule_status={
            "Last": scheduled.isoformat(),
            "Next": following.isoformat(),
            "LastUpdated": now.isoformat(),
        },
        schedule={"AdjustForDST": True},
    )


class TimerRunner:
    """One thread per timer: sleeps to the next occurrence, fires if the lease is held."""

    def __init__(
        self,
        function: TimerFunction,
        schedule: str,
        lease: SingletonLease,
        invoker: Invoker,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.function = function
        self.schedule = schedule
        self._lease = lease
        self._invoker = invoker
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"devhost-timer-{function.name}", daemon=True
        )

    @property
    def holds_lease(self) -> bool:
        return self._lease.held

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        next_occurrence(self.schedule, self._clock())  # a bad schedule fails the start
        self._lease.start()
        self._thread.start()

    def stop(self, grace_seconds: float) -> None:
        """Stop scheduling; a running invocation gets ``grace_seconds``, then the lease goes."""
        self._stop.set()
        self._thread.join(timeout=grace_seconds)
        self._lease.stop()

    def _run(self) -> None:
        now = self._clock()
        if self.function.run_on_startup and self._lease.held:
            self._fire(now, next_occurrence(self.schedule, now))
        scheduled = next_occurrence(self.schedule, now)
        while not self._stop.is_set():
            now = self._clock()
            if now < scheduled:
                self._stop.wait(min((scheduled - now).total_seconds(), _MAX_SLEEP_SECONDS))
                continue
            following = next_occurrence(self.schedule, scheduled)
            if self._lease.held:
                self._fire(scheduled, following)
            # Occurrences missed while the function ran are skipped, not replayed.
            scheduled = next_occurrence(self.schedule, max(scheduled, self._clock()))

    def _fire(self, scheduled: datetime, following: datetime) -> None:
        request = timer_request(scheduled, following, self._clock())
        started = time.monotonic()
        try:
            self._invoker.invoke(self.function, request)
        except Exception:
            logger.exception("timer %s failed", self.function.name)
            return
        logger.info(
            "timer %s fired for %s (past due: %s, %.1f ms)",
            self.function.name,
            scheduled.isoformat(),
            request.past_due,
            (time.monotonic() - started) * 1000,
        )
