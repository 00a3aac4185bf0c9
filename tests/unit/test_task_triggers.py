"""The webhook trigger service with in-memory stores: who starts, what is recorded."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime

import pytest

from shared.errors import InvalidRequest, PayloadTooLarge, TransientError, Unauthorized
from shared.runs import RunStatus, Trigger
from shared.settings import MAX_WEBHOOK_BODY_BYTES
from shared.task_parsing import parse_task
from shared.task_triggers import TriggerServices, handle_git_webhook
from shared.webhooks import gitea, github, gitlab
from tests.support.task_fakes import FakeDeliveryStore, FakeRunStore, FakeTaskStore, fake_submission
from tests.unit.webhook_payloads import payload

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "shared-webhook-secret"
REPO = "https://github.com/Codertocat/Hello-World.git"


def task(name="hello-world", **body):
    body.setdefault("context", REPO)
    body.setdefault("images", ["hello:{{.Run.ID}}"])
    return parse_task(name, json.dumps(body).encode(), None, NOW, "localhost:5000")


class World:
    def __init__(self, *tasks):
        self.runs = FakeRunStore()
        self.deliveries = FakeDeliveryStore()
        self.services = TriggerServices(
            tasks=FakeTaskStore(*tasks),
            deliveries=self.deliveries,
            submission=fake_submission(self.runs),
            webhook_secret=SECRET,
            sleep=lambda seconds: None,
        )

    def github(self, event, body, secret=SECRET, delivery="d-1", now=NOW):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "x-github-event": event,
            "x-github-delivery": delivery,
            "x-hub-signature-256": "sha256=" + _sign(secret, raw),
        }
        return handle_git_webhook(github.PROVIDER, headers, raw, self.services, now)


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_push_to_the_followed_branch_starts_a_commit_run_of_the_pushed_commit():
    world = World(task())
    status, answer = world.github("push", payload("github_push"))
    assert status == 202
    (run,) = world.runs.all
    assert answer == {"runs": [run.run_id]}
    assert (run.trigger, run.task, run.branch) == (Trigger.COMMIT, "hello-world", "main")
    assert run.commit == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert run.spec.context == REPO and not run.spec.no_push


@pytest.mark.parametrize(
    "context",
    ["git@github.com:codertocat/hello-world", "ssh://git@github.com/Codertocat/Hello-World",
     "git://github.com/codertocat/hello-world.git/", "https://github.com/CODERTOCAT/hello-world#main"],
)  # fmt: skip
def test_tasks_match_whatever_url_form_they_use(context):
    world = World(task(context=context))
    assert world.github("push", payload("github_push"))[0] == 202


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"triggers": {"commit": {"enabled": False}}}, "commit trigger off"),
        ({"status": "Disabled"}, "task disabled"),
        ({"context": REPO + "#dev"}, "follows dev"),
        ({"context": "https://github.com/Codertocat/Other.git"}, "another repository"),
    ],
)
def test_pushes_that_start_nothing(body, reason):
    world = World(task(**body))
    assert world.github("push", payload("github_push")) == (200, {"runs": []}), reason
    assert world.runs.all == []


def test_every_matching_task_gets_one_run():
    world = World(
        task("first-task"), task("second-task"), task("on-dev-only", context=REPO + "#dev")
    )
    status, answer = world.github("push", payload("github_push"))
    assert status == 202 and len(answer["runs"]) == 2
    assert sorted(run.task for run in world.runs.all) == ["first-task", "second-task"]


def test_pull_requests_start_only_tasks_that_enable_them_and_build_the_head_without_push():
    world = World(task("no-prs-task"), task("pr-task", triggers={"pullRequest": {"enabled": True}}))
    status, answer = world.github("pull_request", payload("github_pull_request"))
    assert status == 202
    (run,) = world.runs.all
    assert (run.task, run.trigger, run.branch) == ("pr-task", Trigger.PULL_REQUEST, "changes")
    assert run.commit == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert run.spec.no_push


@pytest.mark.parametrize("event", ["ping", "issues"])
def test_ping_and_unknown_events_answer_200(event):
    world = World(task())
    status, answer = world.github(event, payload("github_ping"))
    assert status == 200 and answer["runs"] == []


def test_tag_pushes_and_deletions_start_nothing():
    world = World(task())
    tag = {**payload("github_push"), "ref": "refs/tags/v1"}
    gone = {**payload("github_push"), "after": "0" * 40, "deleted": True}
    assert world.github("push", tag, delivery="a")[0] == 200
    assert world.github("push", gone, delivery="b")[0] == 200
    assert world.runs.all == []


def test_a_bad_or_missing_signature_is_401_and_nothing_is_recorded():
    world = World(task())
    with pytest.raises(Unauthorized):
        world.github("push", payload("github_push"), secret="wrong")
    raw = json.dumps(payload("github_push")).encode()
    headers = {"x-github-event": "push", "x-github-delivery": "d-2"}
    with pytest.raises(Unauthorized):
        handle_git_webhook(github.PROVIDER, headers, raw, world.services, NOW)
    assert world.deliveries.table.rows == {} and world.runs.all == []


def test_an_unset_shared_secret_accepts_nothing():
    world = World(task())
    world.services = TriggerServices(**{**world.services.__dict__, "webhook_secret": ""})
    with pytest.raises(Unauthorized):
        world.github("push", payload("github_push"), secret="")


def test_malformed_json_is_400_when_signed_and_401_when_not():
    world = World(task())
    with pytest.raises(InvalidRequest):
        world.github("push", b'{"ref": ')
    with pytest.raises(Unauthorized):
        world.github("push", b'{"ref": ', secret="wrong")
    assert world.deliveries.table.rows == {}


def test_over_25_mb_is_413():
    world = World(task())
    with pytest.raises(PayloadTooLarge):
        world.github("push", b" " * (MAX_WEBHOOK_BODY_BYTES + 1))


def test_a_task_with_its_own_secret_accepts_only_that_secret():
    own = "task-own-secret-0123456789"
    world = World(task("own-secret", webhookSecret=own), task("shared-secret"))
    _, answer = world.github("push", payload("github_push"), secret=own, delivery="x")
    assert [world.runs.get(r)[0].task for r in answer["runs"]] == ["own-secret"]
    _, answer = world.github("push", payload("github_push"), delivery="y")
    assert [world.runs.get(r)[0].task for r in answer["runs"]] == ["shared-secret"]


def test_a_repeated_delivery_answers_the_same_and_starts_nothing_new():
    world = World(task())
    first = world.github("push", payload("github_push"))
    assert world.github("push", payload("github_push")) == first
    assert len(world.runs.all) == 1


def test_ten_concurrent_copies_start_one_run():
    world = World(task())
    world.services = TriggerServices(**{**world.services.__dict__, "sleep": threading.Event().wait})
    answers = []
    barrier = threading.Barrier(10)

    def deliver():
        barrier.wait()
        answers.append(world.github("push", payload("github_push")))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(world.runs.all) == 1
    assert answers == [answers[0]] * 10 and answers[0][0] == 202


def test_a_failed_delivery_is_released_for_a_redelivery(monkeypatch):
    world = World(task())
    monkeypatch.setattr(world.services.submission.build_queue, "send", _fail)
    with pytest.raises(TransientError):
        world.github("push", payload("github_push"))
    assert world.deliveries.table.rows == {}


def _fail(message):
    raise TransientError("queue down")


def test_a_newer_commit_supersedes_queued_runs_of_the_same_task_and_branch():
    world = World(task(), task("keeps-all", supersedeQueuedRuns=False))
    first = world.github("push", payload("github_push"), delivery="1")[1]["runs"]
    newer = {**payload("github_push"), "after": "1" * 40}
    world.github("push", newer, delivery="2")
    statuses = {(r.task, r.commit[:1]): r.status for r in world.runs.all}
    assert statuses == {
        ("hello-world", "0"): RunStatus.CANCELED,
        ("hello-world", "1"): RunStatus.QUEUED,
        ("keeps-all", "0"): RunStatus.QUEUED,
        ("keeps-all", "1"): RunStatus.QUEUED,
    }
    canceled = world.runs.get(first[0])[0]
    assert "superseded by run" in (canceled.error or "")


def test_a_running_run_is_never_superseded():
    world = World(task())
    (first,) = world.github("push", payload("github_push"), delivery="1")[1]["runs"]
    run, etag = world.runs.get(first)
    world.runs.replace(run.started(NOW), etag)
    world.github("push", {**payload("github_push"), "after": "1" * 40}, delivery="2")
    assert world.runs.get(first)[0].status is RunStatus.RUNNING


def test_gitlab_push_and_merge_request():
    gitlab_task = task("diaspora", context="git@example.com:mike/diaspora.git",
                       triggers={"pullRequest": {"enabled": True}})  # fmt: skip
    world = World(gitlab_task)
    raw = json.dumps(payload("gitlab_push")).encode()
    headers = {"x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET}
    assert handle_git_webhook(gitlab.PROVIDER, headers, raw, world.services, NOW)[0] == 202
    (run,) = world.runs.all
    assert (run.branch, run.commit) == ("master", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")


def test_gitea_push():
    world = World(task("webhooks", context="http://localhost:3000/gitea/webhooks.git#develop"))
    raw = json.dumps(payload("gitea_push")).encode()
    headers = {"x-gitea-event": "push", "x-gitea-delivery": "g-1",
               "x-gitea-signature": _sign(SECRET, raw)}  # fmt: skip
    assert handle_git_webhook(gitea.PROVIDER, headers, raw, world.services, NOW)[0] == 202
