"""Run notifications against real Azurite: a task's run ends Failed; its targets on a
loopback server get one signed delivery each, a flaky one after retries, a dead one
holds up nobody, and a redelivered run event notifies nobody twice. The queue
functions themselves are driven, with the queue drained by the test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.storage.queue import QueueServiceClient

from builder.run_lifecycle import execute_run
from functions import notifications as notifications_function
from functions import run_events as run_events_function
from shared.errors import InvalidRequest
from shared.notifications import RetryPolicy
from shared.runs import RunStatus
from shared.storage.queues import StorageQueue
from shared.submission import RunOrigin
from shared.task_runs import start_task_run
from shared.task_service import save_task
from tests.support.hook_server import HookServer, hook_server

pytestmark = pytest.mark.integration

SHARED_SECRET = "the-servers-webhook-secret"
OWN_SECRET = "flaky-targets-own-secret"


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    with hook_server() as server:
        yield server


@pytest.fixture
def adapters(ctx, storage_connection, unique_name, monkeypatch):
    """The builder context's adapters with an own notifications queue, a shared
    secret, and a short backoff (1 s, then 2 s; three attempts)."""
    queue = StorageQueue(storage_connection, f"{unique_name}-notify")
    queue.ensure_queue()
    wired = replace(
        ctx.adapters,
        settings=replace(ctx.adapters.settings, webhook_secret=SHARED_SECRET),
        notifications_queue=queue,
        notification_policy=RetryPolicy(attempts=3, first_delay=1),
    )
    monkeypatch.setattr(run_events_function, "default_adapters", lambda: wired)
    monkeypatch.setattr(notifications_function, "default_adapters", lambda: wired)
    yield wired
    QueueServiceClient.from_connection_string(storage_connection).delete_queue(queue.name)


def _failed_run(ctx, adapters, hooks: HookServer, name: str, targets: list[dict]):
    """Save the task, run it as the worker does (its context 404s: Failed), and
    return the run and the run event the builder reported."""
    body = {"context": f"{hooks.url}/missing.tar.gz", "images": [f"{name}:v1"],
            "notifications": targets}  # fmt: skip
    now = datetime.now(UTC)
    save_task(name, json.dumps(body).encode(), adapters.tasks, now, adapters.settings.registry,
              check_target=adapters.check_notification_target)  # fmt: skip
    task, _ = adapters.tasks.get(name)
    start_task_run(task, RunOrigin(task=task.name), adapters.submission(), now)
    (request,) = list(adapters.build_queue.receive(1, 60))
    finished = execute_run(request.body["runId"], request.dequeue_count, ctx)
    adapters.build_queue.delete(request)
    assert finished is not None and finished.status is RunStatus.FAILED
    (event,) = list(adapters.events_queue.receive(1, 60))
    adapters.events_queue.delete(event)
    return finished, event.body


def _on_run_event(event: dict) -> None:
    body = json.dumps(event).encode()
    run_events_function.on_run_event(func.QueueMessage(id="event", body=body))


def _drain(adapters, until, timeout: float = 30) -> None:
    """Run the notifications function on every message as it becomes visible, as
    the host does, until ``until()`` holds and the queue has nothing left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = list(adapters.notifications_queue.receive(16, 30))
        for delivery in batch:
            message = func.QueueMessage(
                id=delivery.message_id, body=json.dumps(delivery.body).encode()
            )
            notifications_function.send_notification(message)
            adapters.notifications_queue.delete(delivery)
        if not batch:
            if until():
                return
            time.sleep(0.2)
    raise AssertionError("the notifications did not settle in time")


def _verify(headers: dict[str, str], body: bytes, secret: str) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-drydock-signature-256"], expected)
    assert headers["x-drydock-event"] == "run.finished"
    assert headers["content-type"] == "application/json"


def test_targets_get_one_signed_delivery_each_retried_without_holding_anyone_up(
    ctx, adapters, hooks, unique_name
):
    hooks.script["/flaky"] = [500, 500]
    hooks.script["/dead"] = [500] * 10
    targets = [
        {"url": f"{hooks.url}/steady", "on": ["Failed"]},
        {"url": f"{hooks.url}/flaky", "on": ["Failed", "Error"], "secret": OWN_SECRET},
        {"url": f"{hooks.url}/dead"},
        {"url": f"{hooks.url}/only-successes", "on": ["Succeeded"]},
    ]
    run, event = _failed_run(ctx, adapters, hooks, f"{unique_name}-notify", targets)
    started = time.monotonic()
    _on_run_event(event)
    _drain(
        adapters,
        until=lambda: len(hooks.received.get("/dead", [])) == 3 and hooks.delivered("/flaky"),
    )

    (steady,) = hooks.delivered("/steady")
    (flaky,) = hooks.delivered("/flaky")
    _verify(*steady, SHARED_SECRET)
    _verify(*flaky, OWN_SECRET)
    summary = json.loads(steady[1])
    assert summary["runId"] == run.run_id and summary["status"] == "Failed"
    assert summary["task"] == f"{unique_name}-notify" and summary["trigger"] == "Manual"
    assert "HTTP 404" in summary["error"]
    assert summary["links"] == {"run": f"/api/runs/{run.run_id}",
                                "logs": f"/api/runs/{run.run_id}/logs"}  # fmt: skip
    # Three tries of the flaky target, one delivery id, 1 s then 2 s apart at least.
    attempts = hooks.received["/flaky"]
    assert [status for _, _, status in attempts] == [500, 500, 200]
    assert len({headers["x-drydock-delivery"] for headers, _, _ in attempts}) == 1
    assert attempts[0][1] == attempts[2][1]  # the same bytes every time
    assert time.monotonic() - started >= 3
    # The dead target was tried three times and given up; the others still got theirs
    # at once, and the run stayed as it ended.
    assert [status for _, _, status in hooks.received["/dead"]] == [500, 500, 500]
    assert len(hooks.received["/steady"]) == 1
    assert "/only-successes" not in hooks.received
    assert adapters.runs.get(run.run_id)[0].status is RunStatus.FAILED


def test_a_redelivered_run_event_notifies_nobody_twice(ctx, adapters, hooks, unique_name):
    targets = [{"url": f"{hooks.url}/a"}, {"url": f"{hooks.url}/b", "on": ["Failed"]}]
    _, event = _failed_run(ctx, adapters, hooks, f"{unique_name}-again", targets)
    _on_run_event(event)
    _on_run_event(event)  # the queue delivered it again
    _drain(adapters, until=lambda: "/a" in hooks.received and "/b" in hooks.received)
    _on_run_event(event)  # and again, after the notifications went out
    _drain(adapters, until=lambda: True, timeout=5)
    assert len(hooks.received["/a"]) == len(hooks.received["/b"]) == 1


def test_a_task_with_a_link_local_target_is_refused_at_save(adapters, unique_name):
    body = {"context": "https://example.com/app.tar.gz", "images": ["app:v1"],
            "notifications": [{"url": "http://169.254.169.254/latest/meta-data/"}]}  # fmt: skip
    with pytest.raises(InvalidRequest, match="link-local"):
        save_task(f"{unique_name}-meta", json.dumps(body).encode(), adapters.tasks,
                  datetime.now(UTC), adapters.settings.registry,
                  check_target=adapters.check_notification_target)  # fmt: skip
