"""A run's log, written to its append blob while the run goes.

Lines are masked for secrets, buffered, and flushed by a background thread at
least every ``flush_interval`` seconds, so readers see output within a second
without one storage call per line.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from shared.masking import SecretMasker
from shared.ports import LogStore

log = logging.getLogger(__name__)


class RunLog:
    def __init__(
        self, store: LogStore, run_id: str, secrets: list[str], flush_interval: float = 0.5
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._masker = SecretMasker(secrets)
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._interval = flush_interval
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True, name=f"log-{run_id}")

    def open(self) -> None:
        self._store.create(self._run_id)
        self._flusher.start()

    def add_secrets(self, secrets: list[str]) -> None:
        """Secrets learnt mid-run (a task file's secret volumes) are masked from now on."""
        with self._lock:
            self._masker = self._masker.extended(secrets)

    def write(self, text: str) -> None:
        """Docker output as it comes; a secret split across calls is still masked."""
        with self._lock:
            self._buffer.append(self._masker.feed(text))

    def line(self, text: str) -> None:
        self.write(text if text.endswith("\n") else text + "\n")

    def note(self, message: str) -> None:
        """A line of Drydock's own, timestamped like ACR's log."""
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S")
        self.line(f"{stamp} {message}")

    def close(self) -> None:
        self._closed.set()
        if self._flusher.is_alive():
            self._flusher.join()
        with self._lock:
            self._buffer.append(self._masker.flush())
        self.flush()

    def flush(self) -> None:
        with self._lock:
            pending = "".join(self._buffer)
            self._buffer.clear()
        if not pending:
            return
        try:
            self._store.append(self._run_id, pending.encode("utf-8", errors="replace"))
        except Exception:
            with self._lock:  # keep it for the next flush, in order
                self._buffer.insert(0, pending)
            raise

    def _flush_loop(self) -> None:
        while not self._closed.wait(self._interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep building; the next flush retries
                log.warning(
                    "flushing the log of %s failed; will retry", self._run_id, exc_info=True
                )
