"""Run notifications: targets in the task, payload, signature, backoff, delivery logic."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidRequest, TransientError
from shared.notifications import (
    DeliveryOutcome,
    NotificationServices,
    RetryPolicy,
    check_target_address,
    deliver_notification,
    delivery_id,
    enqueue_notifications,
    firing_targets,
    is_retryable,
    request_headers,
    run_summary,
    summary_body,
)
from shared.runs import BuildSpec, ImageOutput, Run, RunStatus, Trigger
from shared.storage.task_entities import entity_to_task, task_to_entity
from shared.task_parsing import parse_task
from shared.tasks import NotificationTarget
from tests.support.task_fakes import FakeDeliveryStore, FakeRunStore, FakeTaskStore

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REGISTRY = "localhost:5000"
SECRET = "s3cret-s3cret-s3cret"
TARGET_SECRET = "target-own-secret-0123"
CONTEXT = "https://github.com/owner/app.git"


def parse(body: dict, existing=None, name: str = "hello-app"):
    full = {"context": CONTEXT, "images": ["app:{{.Run.ID}}"], **body}
    return parse_task(name, json.dumps(full).encode(), existing, NOW, REGISTRY)


def _run(status=RunStatus.FAILED, **changes) -> Run:
    base = {
        "run_id": "dd7",
        "status": status,
        "trigger": Trigger.COMMIT,
        "create_time": NOW,
        "spec": BuildSpec(context=CONTEXT),
        "task": "hello-app",
        "start_time": NOW + timedelta(seconds=2),
        "finish_time": NOW + timedelta(seconds=30),
        "commit": "a" * 40,
        "branch": "main",
        "images": (ImageOutput("localhost:5000", "app", "dd7", "sha256:" + "b" * 64),),
        "error": "step build failed: exit code 1",
    }
    return Run(**{**base, **changes})


# ---- the task's notifications ---------------------------------------------------------


def test_notifications_parse_and_never_show_their_secret():
    task = parse(
        {
            "notifications": [
                {"url": "https://hooks.example.com/a", "on": ["Failed", "Timeout"]},
                {
                    "url": "https://hooks.example.com/b",
                    "on": ["Succeeded"],
                    "secret": TARGET_SECRET,
                },
            ]
        }
    )
    api = task.to_api()
    assert api["notifications"] == [
        {"url": "https://hooks.example.com/a", "on": ["Failed", "Timeout"], "secretSet": False},
        {"url": "https://hooks.example.com/b", "on": ["Succeeded"], "secretSet": True},
    ]
    assert TARGET_SECRET not in json.dumps(api)
    assert TARGET_SECRET not in repr(task.notifications)
    assert task.notification_secret(1) == TARGET_SECRET and task.notification_secret(0) is None


def test_on_defaults_to_every_final_status():
    (target,) = parse({"notifications": [{"url": "https://h.example.com/x"}]}).notifications
    assert [s.value for s in target.on] == ["Succeeded", "Failed", "Canceled", "Error", "Timeout"]


def test_a_put_back_of_a_get_keeps_each_targets_secret_and_null_clears_it():
    url = "https://hooks.example.com/b"
    first = parse({"notifications": [{"url": url, "secret": TARGET_SECRET}]})
    again = parse({"notifications": first.to_api()["notifications"]}, existing=first)
    assert again.notification_secret(0) == TARGET_SECRET
    moved = parse(
        {"notifications": [{"url": "https://other.example.com/"}, {"url": url}]}, existing=first
    )
    assert (moved.notification_secret(0), moved.notification_secret(1)) == (None, TARGET_SECRET)
    cleared = parse({"notifications": [{"url": url, "secret": None}]}, existing=first)
    assert cleared.notification_secret(0) is None
    assert parse({}, existing=first).notifications == ()


def test_notifications_survive_the_table_entity_round_trip():
    task = parse(
        {
            "notifications": [
                {"url": "https://h.example.com/1", "on": ["Error"]},
                {"url": "https://h.example.com/2", "secret": TARGET_SECRET},
            ],
            "historyLimits": {"succeeded": 5},
        }
    )
    entity = task_to_entity(task)
    assert TARGET_SECRET not in entity["definition"]
    assert entity_to_task(entity) == task


@pytest.mark.parametrize(
    ("notifications", "message"),
    [
        ({"url": "https://x.example.com"}, "notifications must be a list"),
        (["https://x.example.com"], "notifications must be a list"),
        ([{"on": ["Failed"]}], "notifications[0].url is missing"),
        ([{"url": "ftp://x.example.com/hook"}], "must start with https://"),
        ([{"url": "file:///etc/passwd"}], "must start with https://"),
        ([{"url": "https://user:pw@x.example.com/"}], "credentials in the URL are not allowed"),
        ([{"url": "https://x.example.com/a b"}], "without spaces"),
        ([{"url": "https://x.example.com:99999/"}], "is not a valid URL"),
        ([{"url": "https:///nohost"}], "has no valid host"),
        ([{"url": "https://x.example.com", "on": []}], "on must be a non-empty list"),
        ([{"url": "https://x.example.com", "on": "Failed"}], "on must be a non-empty list"),
        ([{"url": "https://x.example.com", "on": ["Running"]}], "'Running' is not a status"),
        ([{"url": "https://x.example.com", "secret": "short"}], "at least 16 characters"),
        ([{"url": "https://x.example.com", "events": ["Failed"]}], "unknown field(s) events"),
        ([{"url": f"https://x.example.com/{i}"} for i in range(11)], "at most 10 notifications"),
    ],
)
def test_bad_notifications_are_refused_with_what_to_fix(notifications, message):
    with pytest.raises(InvalidRequest) as caught:
        parse({"notifications": notifications})
    assert message in str(caught.value)


def _resolver(table: dict[str, list[str]]):
    return lambda host: table.get(host, [])


@pytest.mark.parametrize(
    ("address", "allow_private", "refused"),
    [
        ("93.184.216.34", False, None),
        ("127.0.0.1", True, None),
        ("127.0.0.1", False, "loopback, private or reserved"),
        ("10.1.2.3", False, "loopback, private or reserved"),
        ("169.254.169.254", True, "link-local"),
        ("fe80::1", True, "link-local"),
    ],
)
def test_target_addresses_are_checked_like_contexts(address, allow_private, refused):
    resolve = _resolver({"hooks.example.com": [address]})
    url = "https://hooks.example.com/token-in-path"
    if refused is None:
        check_target_address(url, resolve, allow_private)
        return
    with pytest.raises(InvalidRequest) as caught:
        check_target_address(url, resolve, allow_private)
    assert refused in str(caught.value)
    assert "token-in-path" not in str(caught.value)


def test_history_limits_parse_and_refuse_nonsense():
    task = parse({"historyLimits": {"succeeded": 3, "failed": 0}})
    assert task.to_api()["historyLimits"] == {"succeeded": 3, "failed": 0}
    assert parse({}).to_api()["historyLimits"] == {"succeeded": None, "failed": None}
    for bad in ({"succeeded": -1}, {"failed": "3"}, {"failed": True}, {"canceled": 1}):
        with pytest.raises(InvalidRequest, match="historyLimits"):
            parse({"historyLimits": bad})


# ---- what fires, what is sent -----------------------------------------------------------

TARGETS = (
    NotificationTarget("https://a.example.com/", (RunStatus.FAILED, RunStatus.ERROR)),
    NotificationTarget("https://b.example.com/", (RunStatus.SUCCEEDED,)),
    NotificationTarget("https://c.example.com/", tuple(s for s in RunStatus if s.is_terminal)),
)


@pytest.mark.parametrize(
    ("status", "fired"),
    [
        (RunStatus.FAILED, [0, 2]),
        (RunStatus.ERROR, [0, 2]),
        (RunStatus.SUCCEEDED, [1, 2]),
        (RunStatus.CANCELED, [2]),
        (RunStatus.TIMEOUT, [2]),
        (RunStatus.RUNNING, []),
        (RunStatus.QUEUED, []),
    ],
)
def test_which_targets_fire(status, fired):
    assert [index for index, _ in firing_targets(TARGETS, status)] == fired


def test_the_summary_has_the_runs_outcome_and_links():
    run = _run(base_image_update={"image": "b:1", "fromDigest": "sha256:1", "toDigest": "sha256:2"})
    summary = run_summary(run)
    assert summary == {
        "event": "run.finished",
        "runId": "dd7",
        "task": "hello-app",
        "status": "Failed",
        "trigger": "Commit",
        "createTime": "2024-05-01T12:00:00Z",
        "startTime": "2024-05-01T12:00:02Z",
        "finishTime": "2024-05-01T12:00:30Z",
        "images": [
            {
                "registry": "localhost:5000",
                "repository": "app",
                "tag": "dd7",
                "digest": "sha256:" + "b" * 64,
            }
        ],  # fmt: skip
        "error": "step build failed: exit code 1",
        "source": {"context": CONTEXT, "commit": "a" * 40, "branch": "main"},
        "baseImageUpdate": {"image": "b:1", "fromDigest": "sha256:1", "toDigest": "sha256:2"},
        "links": {"run": "/api/runs/dd7", "logs": "/api/runs/dd7/logs"},
    }
    assert json.loads(summary_body(run)) == summary
    assert len(run_summary(_run(error="x" * 100_000))["error"]) == 4000


def test_the_signature_is_verifiable_as_github_does():
    body = summary_body(_run())
    headers = request_headers(body, "a-delivery", SECRET)
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Drydock-Signature-256"], expected)
    assert headers["X-Drydock-Event"] == "run.finished"
    assert headers["X-Drydock-Delivery"] == "a-delivery"
    assert headers["Content-Type"] == "application/json"
    tampered = body.replace(b"Failed", b"Succeeded")
    assert request_headers(tampered, "a-delivery", SECRET)["X-Drydock-Signature-256"] != expected


def test_delivery_ids_are_uuids_stable_per_run_target_and_status():
    first = delivery_id("dd7", 0, RunStatus.FAILED)
    assert uuid.UUID(first).version == 5
    assert delivery_id("dd7", 0, RunStatus.FAILED) == first
    others = {
        delivery_id("dd8", 0, RunStatus.FAILED),
        delivery_id("dd7", 1, RunStatus.FAILED),
        delivery_id("dd7", 0, RunStatus.CANCELED),
    }
    assert first not in others and len(others) == 3


def test_the_default_backoff_doubles_to_a_cap_over_a_few_minutes():
    policy = RetryPolicy()
    assert policy.schedule() == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert 180 <= sum(policy.schedule()) <= 300
    assert policy.delay_after(10) is None


@pytest.mark.parametrize(
    ("policy", "schedule"),
    [
        (RetryPolicy(attempts=1), []),
        (RetryPolicy(attempts=3, first_delay=5), [5, 10]),
        (RetryPolicy(attempts=5, first_delay=2, max_delay=5), [2, 4, 5, 5]),
        (RetryPolicy(attempts=3, first_delay=0.1), [0, 0]),
    ],
)
def test_backoff_schedules(policy, schedule):
    assert policy.schedule() == schedule


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (502, True), (503, True), (429, True), (408, True), (404, False),
     (401, False), (400, False), (410, False), (301, False)],
)  # fmt: skip
def test_which_answers_are_retried(status, retry):
    assert is_retryable(status) is retry


# ---- enqueueing at a run's end ----------------------------------------------------


class _Queue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[dict, int | None]] = []
        self.fail = fail

    def send(self, message, visibility_timeout=None):
        if self.fail:
            raise TransientError("queue storage is unreachable")
        self.sent.append((message, visibility_timeout))


def _task_with(*targets: dict, name: str = "hello-app"):
    return parse({"notifications": list(targets)}, name=name)


def test_a_finished_run_enqueues_one_message_per_firing_target_once():
    tasks = FakeTaskStore(
        _task_with(
            {"url": "https://a.example.com/", "on": ["Failed"]},
            {"url": "https://b.example.com/", "on": ["Succeeded"]},
            {"url": "https://c.example.com/"},
        )
    )
    claims, queue = FakeDeliveryStore(), _Queue()
    first = enqueue_notifications(_run(), tasks, claims, queue, NOW)
    assert [m["target"] for m, _ in queue.sent] == [0, 2]
    assert [m["deliveryId"] for m, _ in queue.sent] == first
    assert queue.sent[0] == (
        {"deliveryId": delivery_id("dd7", 0, RunStatus.FAILED), "runId": "dd7",
         "task": "hello-app", "target": 0, "url": "https://a.example.com/", "attempt": 1},
        None,
    )  # fmt: skip
    # The same run event again (redelivered): nothing new.
    assert enqueue_notifications(_run(), tasks, claims, queue, NOW) == []
    assert len(queue.sent) == 2


@pytest.mark.parametrize(
    "run",
    [_run(status=RunStatus.RUNNING), _run(task=None), _run(task="deleted-task")],
    ids=["unfinished", "quick-run", "task-gone"],
)
def test_nothing_is_enqueued_without_a_finished_task_run(run):
    tasks = FakeTaskStore(_task_with({"url": "https://a.example.com/"}))
    queue = _Queue()
    assert enqueue_notifications(run, tasks, FakeDeliveryStore(), queue, NOW) == []
    assert queue.sent == []


def test_a_failed_enqueue_releases_its_claim_so_the_retry_sends_it():
    tasks = FakeTaskStore(_task_with({"url": "https://a.example.com/"}))
    claims = FakeDeliveryStore()
    with pytest.raises(TransientError):
        enqueue_notifications(_run(), tasks, claims, _Queue(fail=True), NOW)
    queue = _Queue()
    assert len(enqueue_notifications(_run(), tasks, claims, queue, NOW)) == 1


# ---- one delivery attempt --------------------------------------------------------


class _Sender:
    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.posts: list[tuple[str, bytes, dict]] = []

    def post(self, url, body, headers):
        self.posts.append((url, body, dict(headers)))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


def _services(sender, *targets, address="93.184.216.34", allow_private=False, secret=SECRET):
    runs = FakeRunStore()
    runs.insert(_run())
    tasks = FakeTaskStore(_task_with(*targets))
    queue = _Queue()
    services = NotificationServices(
        runs=runs,
        tasks=tasks,
        sender=sender,
        queue=queue,
        resolve=lambda host: [address] if host.endswith("example.com") else [],
        allow_private_networks=allow_private,
        default_secret=secret,
        policy=RetryPolicy(attempts=3, first_delay=1),
    )
    return services, queue


def _message(target=0, attempt=1, url="https://a.example.com/hook"):
    return {"deliveryId": delivery_id("dd7", target, RunStatus.FAILED), "runId": "dd7",
            "task": "hello-app", "target": target, "url": url, "attempt": attempt}  # fmt: skip


def test_a_delivered_notification_is_signed_with_the_shared_secret():
    sender = _Sender(204)
    services, queue = _services(sender, {"url": "https://a.example.com/hook"})
    assert deliver_notification(_message(), services) is DeliveryOutcome.DELIVERED
    ((url, body, headers),) = sender.posts
    assert url == "https://a.example.com/hook" and json.loads(body)["runId"] == "dd7"
    assert (
        headers["X-Drydock-Signature-256"]
        == request_headers(body, "x", SECRET)["X-Drydock-Signature-256"]
    )
    assert headers["X-Drydock-Delivery"] == _message()["deliveryId"]
    assert queue.sent == []


def test_a_targets_own_secret_signs_its_requests():
    sender = _Sender(200)
    target = {"url": "https://a.example.com/hook", "secret": TARGET_SECRET}
    services, _ = _services(sender, target)
    deliver_notification(_message(), services)
    ((_, body, headers),) = sender.posts
    expected = "sha256=" + hmac.new(TARGET_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Drydock-Signature-256"] == expected


@pytest.mark.parametrize(
    "failure", [500, 503, 429, TransientError("the target did not answer (ConnectTimeout)")]
)
def test_a_failed_attempt_enqueues_the_next_with_its_delay(failure):
    services, queue = _services(_Sender(failure), {"url": "https://a.example.com/hook"})
    assert deliver_notification(_message(attempt=2), services) is DeliveryOutcome.RETRYING
    assert queue.sent == [({**_message(), "attempt": 3}, 2)]


def test_the_last_attempt_gives_up_and_logs_it(caplog):
    services, queue = _services(_Sender(500), {"url": "https://a.example.com/hook"})
    assert deliver_notification(_message(attempt=3), services) is DeliveryOutcome.GAVE_UP
    assert queue.sent == []
    assert "failed 3 times (last: HTTP 500); giving up" in caplog.text


def test_a_target_refusing_the_request_is_not_retried():
    services, queue = _services(_Sender(404), {"url": "https://a.example.com/hook"})
    assert deliver_notification(_message(), services) is DeliveryOutcome.GAVE_UP
    assert queue.sent == []


@pytest.mark.parametrize(
    ("address", "allow_private"),
    [("169.254.169.254", True), ("10.0.0.8", False), ("127.0.0.1", False)],
)
def test_a_refused_address_is_never_posted_to_nor_retried(address, allow_private, caplog):
    sender = _Sender()
    services, queue = _services(
        sender, {"url": "https://a.example.com/hook"}, address=address, allow_private=allow_private
    )
    assert deliver_notification(_message(), services) is DeliveryOutcome.DROPPED
    assert sender.posts == [] and queue.sent == []
    assert "refused" in caplog.text


def test_a_host_that_does_not_resolve_is_retried():
    sender = _Sender()
    url = "https://gone.invalid/hook"
    services, queue = _services(sender, {"url": url})
    assert deliver_notification(_message(url=url), services) is DeliveryOutcome.RETRYING
    assert sender.posts == [] and len(queue.sent) == 1


def test_a_target_removed_from_the_task_meanwhile_is_dropped():
    sender = _Sender()
    services, _ = _services(sender, {"url": "https://elsewhere.example.com/"})
    assert deliver_notification(_message(), services) is DeliveryOutcome.DROPPED
    assert sender.posts == []


def test_without_any_secret_nothing_is_sent_unsigned():
    sender = _Sender()
    services, _ = _services(sender, {"url": "https://a.example.com/hook"}, secret="")
    assert deliver_notification(_message(), services) is DeliveryOutcome.DROPPED
    assert sender.posts == []
