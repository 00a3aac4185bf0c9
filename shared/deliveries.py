"""Webhook deliveries handled once, by construction.

The first copy of a delivery inserts its record (insert-if-absent) and does the
work; every other copy, concurrent or later, finds the record and answers what
the first one stored. A claim whose holder died (no answer after
``STALE_CLAIM``) may be retaken, ETag-guarded, so a redelivery is not lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import Conflict, NotFound, TransientError
from shared.ports import DeliveryStore

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=2)
WAIT_SECONDS = 5.0
"""How long a copy waits for the first one's answer; well inside GitHub's 10 s."""
_POLL_SECONDS = 0.1
_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]{1,200}")

Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class DeliveryRecord:
    claimed_at: datetime
    answer: Answer | None


def delivery_key(provider: str, delivery_id: str | None, body: bytes) -> str:
    """A Table-safe key; without a delivery id, the body's hash stands in for it."""
    if delivery_id and _SAFE_KEY.fullmatch(delivery_id):
        return f"{provider}-{delivery_id}"
    source = delivery_id.encode() if delivery_id else body
    return f"{provider}-sha256-{hashlib.sha256(source).hexdigest()}"


def once_per_delivery(
    key: str,
    store: DeliveryStore,
    now: datetime,
    work: Callable[[], Answer],
    sleep: Callable[[float], None],
) -> Answer:
    """``work()``'s answer for the first copy of ``key``; the stored one for the others."""
    if not _claim(key, store, now):
        stored = _stored_answer_or_claim(key, store, now, sleep)
        if stored is not None:
            return stored
    try:
        answer = work()
    except BaseException:
        # Let a redelivery try afresh rather than answer a failure forever.
        store.delete(key)
        raise
    store.complete(key, answer)
    return answer


def _claim(key: str, store: DeliveryStore, now: datetime) -> bool:
    try:
        store.insert(key, now)
    except Conflict:
        return False
    return True


def _stored_answer_or_claim(
    key: str, store: DeliveryStore, now: datetime, sleep: Callable[[float], None]
) -> Answer | None:
    """The answer the first copy stored, waiting for it a little; None when this copy
    took the delivery over (its first copy failed or was abandoned)."""
    waited = 0.0
    while True:
        try:
            record, etag = store.get(key)
        except NotFound:
            if _claim(key, store, now):
                return None
            continue
        if record.answer is not None:
            log.info("delivery %s seen before; answering as the first time", key)
            return record.answer
        if now - record.claimed_at > STALE_CLAIM:
            store.retake(key, etag, now)  # Conflict (409) if another copy retook it first
            return None
        if waited >= WAIT_SECONDS:
            raise TransientError(f"delivery {key} is still being handled; try again shortly")
        sleep(_POLL_SECONDS)
        waited += _POLL_SECONDS
