"""Run notifications: a signed JSON summary POSTed to a task's targets when a run ends.

A task's ``notifications: [{url, on, secret?}]`` names the targets. When a run ends
in a status a target lists, the run-events function enqueues one message per target
on the ``notifications`` queue (``enqueue_notifications``); the notifications queue
function sends it (``deliver_notification``). A failed attempt is re-enqueued with a
visibility delay that doubles each time, so nothing ever sleeps and a slow or dead
target holds up neither runs nor other targets.

Signing follows GitHub: ``X-Drydock-Signature-256: sha256=<hex HMAC-SHA256 of the
raw body>`` keyed with the target's own secret or else ``DRYDOCK_WEBHOOK_SECRET``.
The delivery id is derived from (run, target, status), so a redelivered run event
finds its claim in the ``drydockNotifications`` table and enqueues nothing twice,
and every attempt of one delivery carries the same ``X-Drydock-Delivery``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.context_url import check_address_allowed
from shared.errors import Conflict, InvalidRequest, NotFound, TransientError
from shared.ports import RunStore, TaskStore
from shared.runs import Run, RunStatus
from shared.tasks import NotificationTarget, Task

log = logging.getLogger(__name__)

EVENT = "run.finished"
EVENT_HEADER = "X-Drydock-Event"
DELIVERY_HEADER = "X-Drydock-Delivery"
SIGNATURE_HEADER = "X-Drydock-Signature-256"
USER_AGENT = "Drydock-Notifications/1"
FINISHED_STATUSES = tuple(status for status in RunStatus if status.is_terminal)
MAX_TARGETS = 10
MAX_URL_LENGTH = 2048
MIN_SECRET_LENGTH = 16
MAX_ERROR_CHARS = 4000
"""A run's error is cut to this in the summary, so a message stays far below 64 KB."""
_DELIVERY_NAMESPACE = uuid.UUID("5b0f7f5e-8a4e-4f4e-9d61-6d7279646f63")
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9._-]*[a-z0-9_])?")
_RETRYABLE_STATUSES = frozenset({408, 425, 429})

Resolver = Callable[[str], Sequence[str]]


# ---- the task's side: parsing targets ---------------------------------------------


def parse_notifications(
    value: Any, existing: Task | None
) -> tuple[tuple[NotificationTarget, ...], tuple[str | None, ...]]:
    """A PUT body's ``notifications``: the targets and, in the same order, their secrets.

    A target that leaves ``secret`` out keeps the secret of the existing target with
    the same URL (so GET, edit, PUT keeps it); ``"secret": null`` clears it.
    """
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidRequest(
            'notifications must be a list like [{"url": "https://…", "on": ["Failed"]}]'
        )
    if len(value) > MAX_TARGETS:
        raise InvalidRequest(f"a task has at most {MAX_TARGETS} notifications, got {len(value)}")
    kept: dict[str, str | None] = {}
    if existing is not None:
        for index, target in enumerate(existing.notifications):
            kept.setdefault(target.url, existing.notification_secret(index))
    targets, secrets = [], []
    for index, item in enumerate(value):
        where = f"notifications[{index}]"
        unknown = sorted(set(item) - {"url", "on", "secret", "secretSet"})
        if unknown:
            raise InvalidRequest(
                f"{where}: unknown field(s) {', '.join(unknown)}; known: url, on, secret"
            )
        url = check_notification_url(item.get("url"), where)
        targets.append(NotificationTarget(url, _statuses(item.get("on"), where)))
        secrets.append(_secret(item, where) if "secret" in item else kept.get(url))
    return tuple(targets), tuple(secrets)


def check_notification_url(value: Any, where: str = "notification") -> str:
    """An absolute http(s) URL with a plain host and no credentials in it."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(
            f"{where}.url is missing: give an http(s) URL to POST run summaries to"
        )
    if len(value) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        raise InvalidRequest(
            f"{where}.url must be a URL of at most {MAX_URL_LENGTH} characters without "
            "spaces or control characters"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - validates the port; urlsplit alone does not
    except ValueError as exc:
        raise InvalidRequest(f"{where}.url {value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest(f"{where}.url {value!r} must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest(
            f"{where}.url: credentials in the URL are not allowed (they would show in the "
            "task and in logs); use the target's secret, which signs every request"
        )
    if not parts.hostname or not _valid_host(parts.hostname):
        raise InvalidRequest(f"{where}.url {value!r} has no valid host")
    return value


def _valid_host(hostname: str) -> bool:
    if ":" in hostname:  # an IPv6 literal, brackets already removed
        return all(ch in "0123456789abcdef:." for ch in hostname)
    return _HOST_NAME.fullmatch(hostname) is not None


def _statuses(value: Any, where: str) -> tuple[RunStatus, ...]:
    known = [status.value for status in FINISHED_STATUSES]
    if value is None:
        return FINISHED_STATUSES
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(
            f'{where}.on must be a non-empty list of run statuses like ["Failed"]; '
            f"use any of {', '.join(known)}"
        )
    unknown = [status for status in value if status not in known]
    if unknown:
        raise InvalidRequest(
            f"{where}.on: {', '.join(map(repr, unknown))} is not a status a run ends in; "
            f"use any of {', '.join(known)}"
        )
    return tuple(RunStatus(status) for status in dict.fromkeys(value))


def _secret(item: Mapping[str, Any], where: str) -> str | None:
    secret = item["secret"]
    if secret is None or secret == "":
        return None
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise InvalidRequest(
            f"{where}.secret must be a string of at least {MIN_SECRET_LENGTH} characters, "
            "or null to sign with the server's webhook secret"
        )
    return secret


def check_target_address(url: str, resolve: Resolver, allow_private: bool) -> None:
    """Refuse a target on an address Drydock must not connect to, as for contexts."""
    host = urlsplit(url).hostname or ""
    try:
        check_address_allowed(host, resolve(host), allow_private)
    except InvalidRequest as exc:
        raise InvalidRequest(f"notification target {redact(url)}: {exc}") from None


def redact(url: str) -> str:
    """A target as logs show it: a path may hold a token (chat webhooks put one there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") else url


# ---- which targets fire, and what they get ------------------------------------------


def firing_targets(
    targets: Sequence[NotificationTarget], status: RunStatus
) -> list[tuple[int, NotificationTarget]]:
    """The targets (with their index) that want to hear of a run ending in ``status``."""
    if not status.is_terminal:
        return []
    return [(index, target) for index, target in enumerate(targets) if status in target.on]


def delivery_id(run_id: str, target_index: int, status: RunStatus) -> str:
    """The same for every copy of one run event, so retries and redeliveries match."""
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{run_id}/{target_index}/{status.value}"))


def run_summary(run: Run) -> dict[str, Any]:
    """The JSON a target receives: what ended, how, and what it produced."""
    api = run.to_api()
    error = api["error"]
    return {
        "event": EVENT,
        **{key: api[key] for key in ("runId", "task", "status", "trigger")},
        **{key: api[key] for key in ("createTime", "startTime", "finishTime")},
        "images": api["images"],
        "error": error[:MAX_ERROR_CHARS] if isinstance(error, str) else error,
        "source": api["source"],
        "baseImageUpdate": api["baseImageUpdate"],
        "links": {"run": f"/api/runs/{run.run_id}", "logs": f"/api/runs/{run.run_id}/logs"},
    }


def summary_body(run: Run) -> bytes:
    return json.dumps(run_summary(run), separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>``, the value of ``X-Drydock-Signature-256``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request_headers(body: bytes, delivery: str, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: EVENT,
        DELIVERY_HEADER: delivery,
        SIGNATURE_HEADER: signature(body, secret),
    }


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n failed: wait ``first_delay * 2**(n-1)`` seconds, at most ``max_delay``,
    then try again, up to ``attempts`` tries in all. The defaults span about 4 minutes."""

    attempts: int = 10
    first_delay: float = 1.0
    max_delay: float = 60.0

    def delay_after(self, attempt: int) -> int | None:
        """Whole seconds (queue visibility is whole) before the next try; None: give up."""
        if attempt >= self.attempts:
            return None
        return round(min(self.first_delay * 2 ** (attempt - 1), self.max_delay))

    def schedule(self) -> list[int]:
        """Every delay a delivery that never succeeds waits, in order."""
        return [d for n in range(1, self.attempts) if (d := self.delay_after(n)) is not None]


def is_retryable(status_code: int) -> bool:
    """Worth trying again: the target is down or busy. Other 4xx: it refuses this request."""
    return status_code >= 500 or status_code in _RETRYABLE_STATUSES


# ---- orchestration over ports ---------------------------------------------------


class NotificationClaims(Protocol):
    """Insert-if-absent by delivery id (Conflict when present), and letting one go."""

    def insert(self, key: str, now: datetime) -> None: ...
    def delete(self, key: str) -> None: ...


class DelayedQueue(Protocol):
    def send(self, message: dict[str, Any], visibility_timeout: int | None = None) -> None: ...


class NotificationSender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The target's HTTP status; TransientError when it cannot be reached."""
        ...


def enqueue_notifications(
    run: Run, tasks: TaskStore, claims: NotificationClaims, queue: DelayedQueue, now: datetime
) -> list[str]:
    """One message per target of ``run``'s task that wants its final status; the
    delivery ids enqueued now (none for a target already claimed by an earlier copy)."""
    if not run.status.is_terminal or not run.task:
        return []
    try:
        task, _ = tasks.get(run.task)
    except NotFound:
        return []  # deleted since the run started: nobody left to tell
    enqueued = []
    for index, target in firing_targets(task.notifications, run.status):
        delivery = delivery_id(run.run_id, index, run.status)
        try:
            claims.insert(delivery, now)
        except Conflict:
            continue
        message = {"deliveryId": delivery, "runId": run.run_id, "task": task.name,
                   "target": index, "url": target.url, "attempt": 1}  # fmt: skip
        try:
            queue.send(message)
        except BaseException:
            claims.delete(delivery)  # so the run event's retry enqueues it after all
            raise
        enqueued.append(delivery)
    return enqueued


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    GAVE_UP = "gave up"
    DROPPED = "dropped"
    """Not sent and never will be: the target was refused, removed, or the run is gone."""


@dataclass(frozen=True)
class NotificationServices:
    runs: RunStore
    tasks: TaskStore
    sender: NotificationSender
    queue: DelayedQueue
    resolve: Resolver
    allow_private_networks: bool
    default_secret: str
    policy: RetryPolicy = RetryPolicy()


def deliver_notification(
    message: Mapping[str, Any], services: NotificationServices
) -> DeliveryOutcome:
    """One attempt at one delivery; on a retryable failure, the next attempt is enqueued
    with its delay. Raises only for storage trouble (the host then retries the message)."""
    delivery, run_id = str(message["deliveryId"]), str(message["runId"])
    attempt, url = int(message.get("attempt", 1)), str(message["url"])
    prepared = _prepare(message, services)
    if isinstance(prepared, str):
        log.warning("notification %s for run %s to %s dropped: %s", delivery, run_id,
                    redact(url), prepared)  # fmt: skip
        return DeliveryOutcome.DROPPED
    body, secret = prepared
    host = urlsplit(url).hostname or ""
    try:
        addresses = services.resolve(host)
        if not addresses:  # DNS may be down for a moment: worth another try, unlike a refusal
            raise TransientError(f"the host {host!r} does not resolve")
        check_address_allowed(host, addresses, services.allow_private_networks)
        status_code = services.sender.post(url, body, request_headers(body, delivery, secret))
    except InvalidRequest as exc:
        log.error("notification %s for run %s refused: %s", delivery, run_id, exc)
        return DeliveryOutcome.DROPPED
    except TransientError as exc:
        failure = str(exc)
    else:
        if 200 <= status_code < 300:
            log.info("notification %s for run %s delivered to %s (attempt %d, HTTP %d)",
                     delivery, run_id, redact(url), attempt, status_code)  # fmt: skip
            return DeliveryOutcome.DELIVERED
        failure = f"HTTP {status_code}"
        if not is_retryable(status_code):
            log.error("notification %s for run %s to %s refused by the target: %s; not retried",
                      delivery, run_id, redact(url), failure)  # fmt: skip
            return DeliveryOutcome.GAVE_UP
    return _retry_later(dict(message), attempt, failure, services)


def _prepare(message: Mapping[str, Any], services: NotificationServices) -> tuple[bytes, str] | str:
    """The body and signing key of this delivery, or why there is nothing to send."""
    try:
        run, _ = services.runs.get(str(message["runId"]))
        task, _ = services.tasks.get(str(message["task"]))
    except NotFound as exc:
        return str(exc)
    index = int(message["target"])
    targets = task.notifications
    if not 0 <= index < len(targets) or targets[index].url != message["url"]:
        return "the task no longer has this target"
    secret = task.notification_secret(index) or services.default_secret
    if not secret:
        return "no secret to sign with: set DRYDOCK_WEBHOOK_SECRET or the target's secret"
    return summary_body(run), secret


def _retry_later(
    message: dict[str, Any], attempt: int, failure: str, services: NotificationServices
) -> DeliveryOutcome:
    delivery, run_id, url = message["deliveryId"], message["runId"], redact(message["url"])
    delay = services.policy.delay_after(attempt)
    if delay is None:
        log.error("notification %s for run %s to %s failed %d times (last: %s); giving up",
                  delivery, run_id, url, attempt, failure)  # fmt: skip
        return DeliveryOutcome.GAVE_UP
    services.queue.send({**message, "attempt": attempt + 1}, visibility_timeout=delay)
    log.warning("notification %s for run %s to %s: attempt %d failed (%s); retrying in %ds",
                delivery, run_id, url, attempt, failure, delay)  # fmt: skip
    return DeliveryOutcome.RETRYING
