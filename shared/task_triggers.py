"""Git webhooks to runs: verify, record once, start every task the event concerns.

Order matters. Size first (cheap), then the signature over the raw body, so an
unsigned caller learns nothing and leaves nothing behind; then the delivery is
claimed, so ten copies of it start one set of runs.

A task with its own ``webhookSecret`` accepts only deliveries signed with it;
other tasks accept those signed with ``DRYDOCK_WEBHOOK_SECRET``. So one
repository owner's secret cannot start anyone else's task.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from shared.deliveries import Answer, delivery_key, once_per_delivery
from shared.errors import InvalidRequest, PayloadTooLarge, Unauthorized
from shared.ports import DeliveryStore, TaskStore
from shared.repo_urls import repo_key
from shared.runs import Trigger
from shared.settings import MAX_WEBHOOK_BODY_BYTES
from shared.submission import RunOrigin, SubmissionServices
from shared.task_runs import start_task_run
from shared.tasks import Task
from shared.webhooks.events import (
    EventKind,
    GitEvent,
    Headers,
    Ignored,
    Provider,
    repository_urls,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriggerServices:
    tasks: TaskStore
    deliveries: DeliveryStore
    submission: SubmissionServices
    webhook_secret: str
    sleep: Callable[[float], None]


def handle_git_webhook(
    provider: Provider, headers: Headers, body: bytes, services: TriggerServices, now: datetime
) -> Answer:
    """``(status, {"runs": [...]})``: 202 when runs started, 200 when none."""
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        raise PayloadTooLarge("the webhook body is over 25 MB")
    if not provider.has_signature(headers):
        raise Unauthorized(f"the {provider.name} webhook carries no signature or token")
    payload, tasks = _authenticated(provider, headers, body, services)
    event = provider.parse(headers, payload)
    key = delivery_key(provider.name, provider.delivery_id(headers), body)
    return once_per_delivery(
        key, services.deliveries, now, lambda: _start_runs(event, tasks, key, services, now),
        services.sleep,
    )  # fmt: skip


def _authenticated(
    provider: Provider, headers: Headers, body: bytes, services: TriggerServices
) -> tuple[dict[str, Any], list[Task]]:
    """The payload and the tasks this delivery's signature may start; Unauthorized if none."""
    shared_secret_ok = provider.signature_valid(headers, body, services.webhook_secret)
    try:
        payload = _payload(headers, body)
    except InvalidRequest:
        if shared_secret_ok:
            raise
        raise Unauthorized(f"the {provider.name} webhook signature is not valid") from None
    keys = {repo_key(url) for url in repository_urls(payload)}
    candidates = services.tasks.for_repositories(keys)
    if shared_secret_ok:
        return payload, [task for task in candidates if not task.secrets.webhook_secret]
    own = [task for task in candidates if _own_secret_ok(provider, headers, body, task)]
    if not own:
        raise Unauthorized(f"the {provider.name} webhook signature is not valid")
    return payload, own


def _own_secret_ok(provider: Provider, headers: Headers, body: bytes, task: Task) -> bool:
    secret = task.secrets.webhook_secret
    return bool(secret) and provider.signature_valid(headers, body, secret or "")


def _payload(headers: Headers, body: bytes) -> dict[str, Any]:
    """The JSON payload; GitHub's form-encoded variant (``payload=…``) too."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            body = parse_qs(body.decode(), strict_parsing=True)["payload"][0].encode()
        data = json.loads(body)
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the webhook body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the webhook body must be a JSON object")
    return data


def _start_runs(
    event: GitEvent | Ignored, tasks: list[Task], key: str, services: TriggerServices,
    now: datetime,
) -> Answer:  # fmt: skip
    if isinstance(event, Ignored):
        log.info("delivery %s ignored: %s", key, event.reason)
        return 200, {"runs": [], "ignored": event.reason}
    started: list[str] = []
    errors: list[dict[str, str]] = []
    for task in sorted(tasks, key=lambda task: task.key):
        if not concerns(task, event):
            continue
        try:
            started.append(_start(task, event, services.submission, now))
        except InvalidRequest as exc:  # this task's fault; the others still run
            log.warning("delivery %s: task %s not started: %s", key, task.name, exc)
            errors.append({"task": task.name, "error": str(exc)})
    log.info("delivery %s started runs %s", key, started)
    answer: dict[str, Any] = {"runs": started}
    if errors:
        answer["errors"] = errors
    return (202 if started else 200), answer


def concerns(task: Task, event: GitEvent) -> bool:
    """Whether ``event`` starts ``task``: enabled, its trigger on, a branch it follows.
    A pull request concerns the tasks following its target branch."""
    if not task.enabled:
        return False
    if event.kind is EventKind.PUSH:
        return task.triggers.commit_enabled and task.follows_branch(
            event.branch, event.default_branch
        )
    return task.triggers.pull_request_enabled and task.follows_branch(
        event.target_branch or "", event.default_branch
    )


def _start(task: Task, event: GitEvent, services: SubmissionServices, now: datetime) -> str:
    trigger = Trigger.COMMIT if event.kind is EventKind.PUSH else Trigger.PULL_REQUEST
    origin = RunOrigin(trigger=trigger, task=task.name, commit=event.commit, branch=event.branch)
    return start_task_run(task, origin, services, now).run_id
