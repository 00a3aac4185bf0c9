"""Follow a run's log: poll ``GET /api/runs/{id}/logs?offset=N`` and write what is new.

Bytes are decoded incrementally so a multibyte character split across two polls
is written whole once its tail arrives. Streaming ends when the run is finished
*and* a read brings nothing new, so the last lines written after the status
changed are not lost.
"""

from __future__ import annotations

import codecs
import logging
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from cli.api import ApiError, LogChunk

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Canceled", "Error", "Timeout"})
POLL_INTERVAL = 0.4
"""Seconds between polls while the run is queued or running."""
MAX_TRANSIENT_FAILURES = 5
"""Consecutive connection or 5xx failures tolerated while following a long run."""


class LogSource(Protocol):
    def read_log(self, run_id: str, offset: int) -> LogChunk: ...


def stream_log(
    source: LogSource,
    run_id: str,
    out: TextIO,
    *,
    follow: bool = True,
    poll_interval: float = POLL_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Write the run's log to ``out``; return the last status the server reported.

    With ``follow`` it waits for the run to finish; without, it stops at the end
    of what has been written so far.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    offset = 0
    status: str | None = None
    failures = 0
    try:
        while True:
            try:
                chunk = source.read_log(run_id, offset)
            except ApiError as exc:
                failures += 1
                if not exc.transient or failures > MAX_TRANSIENT_FAILURES:
                    raise
                logger.debug("log read of run %s failed (%s); retrying", run_id, exc)
                sleep(poll_interval * 2**failures)
                continue
            failures = 0
            status = chunk.run_status or status
            if chunk.data:
                out.write(decoder.decode(chunk.data))
                out.flush()
            # A server that does not advance the offset must not make us re-read forever.
            offset = max(chunk.next_offset, offset + len(chunk.data))
            if not chunk.data and (not follow or status in TERMINAL_STATUSES or status is None):
                return status
            if status not in TERMINAL_STATUSES and follow:
                sleep(poll_interval)
    finally:
        tail = decoder.decode(b"", final=True)
        if tail:
            out.write(tail)
            out.flush()
