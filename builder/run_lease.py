"""A builder's hold on a taken run, kept on the run record itself.

The queue message's invisibility keeps other builders from *receiving* the
run; the lease on the record is what lets one that does receive it (after a
redelivery) tell a live holder from a dead one: ``lease_until`` in the past
means nobody renewed it, so the run may be retaken. The same watcher reads the
record about once a second, which is how a running build learns of a cancel.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from shared.errors import Conflict
from shared.ports import RunStore
from shared.runs import Run, RunStatus

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0
"""How often the record is read for a cancel; containers stop within about
this plus the engine's own stop poll (builder/engine.py ``STOP_POLL_SECONDS``)."""


def ensure_held(current: Run, attempt: int) -> Run:
    """``current`` if it is still this attempt's running run; Conflict otherwise
    (canceled, or retaken after our lease lapsed)."""
    if current.status is not RunStatus.RUNNING or current.attempt != attempt:
        raise Conflict(
            f"run {current.run_id} is no longer attempt {attempt}'s: "
            f"{current.status.value}, attempt {current.attempt}"
        )
    return current


class RunLease:
    """Renews the lease of a run this builder took and watches for its end."""

    def __init__(
        self,
        runs: RunStore,
        run: Run,
        lease: timedelta,
        hand_back: threading.Event,
        watch_seconds: float = WATCH_SECONDS,
    ) -> None:
        self._runs = runs
        self._run_id = run.run_id
        self._attempt = run.attempt
        self._lease = lease
        self._hand_back = hand_back
        self._watch_seconds = watch_seconds
        self.canceled = threading.Event()
        self.lost = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"lease-{run.run_id}")

    @property
    def handing_back(self) -> bool:
        return self._hand_back.is_set()

    def should_stop(self) -> bool:
        return self.canceled.is_set() or self.lost.is_set() or self._hand_back.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def release(self, now: datetime) -> None:
        """Hand the run back: end the lease now so the next builder retakes it at once."""
        self._runs.update(
            self._run_id, lambda current: ensure_held(current, self._attempt).renewed(now)
        )

    def _loop(self) -> None:
        renew_every = self._lease.total_seconds() / 3
        next_renewal = time.monotonic() + renew_every
        while not self._stopped.wait(self._watch_seconds):
            try:
                self._watch()
                if time.monotonic() >= next_renewal and not self.should_stop():
                    self._renew()
                    next_renewal = time.monotonic() + renew_every
            except Exception:  # noqa: BLE001 - a storage blip: the lease has slack
                log.warning("watching run %s failed; retrying", self._run_id, exc_info=True)

    def _watch(self) -> None:
        current, _ = self._runs.get(self._run_id)
        if current.status.is_terminal:
            self.canceled.set()
        elif current.attempt != self._attempt:
            log.warning("run %s was retaken as attempt %d", self._run_id, current.attempt)
            self.lost.set()

    def _renew(self) -> None:
        until = datetime.now(UTC) + self._lease
        try:
            self._runs.update(
                self._run_id, lambda current: ensure_held(current, self._attempt).renewed(until)
            )
        except Conflict:
            self._watch()  # ended or retaken meanwhile: the flags say which
