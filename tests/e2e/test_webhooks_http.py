"""Git webhooks through HTTP on the running host, down to the built commit."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.task_support import call, served_repository, webhook_secret_from_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def served_repo(tmp_path):
    with served_repository(tmp_path) as served:
        yield served


@pytest.fixture(scope="session")
def webhook_secret():
    return webhook_secret_from_env()


def _github(api, secret, event, body, delivery=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sign = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "X-Hub-Signature-256": signature or f"sha256={sign}",
               "Content-Type": "application/json"}  # fmt: skip
    return requests.post(f"{api.url}/api/webhooks/github", data=raw, headers=headers, timeout=60)


def _push(url, after, branch="main"):
    return {"ref": f"refs/heads/{branch}", "before": "0" * 39 + "1", "after": after,
            "repository": {"clone_url": url, "default_branch": "main"}}  # fmt: skip


@pytest.fixture
def git_task(api, served_repo, unique_name):
    url, repo = served_repo
    repo.commit({"Dockerfile": "FROM scratch\nLABEL version=one\n"}, "1")
    name = f"hook-{unique_name}"
    body = {"context": f"{url}#main", "noPush": True}
    assert call(api, "PUT", f"/api/tasks/{name}", json=body).status_code == 201
    yield name, url, repo
    call(api, "DELETE", f"/api/tasks/{name}")


def test_a_signed_push_builds_the_pushed_commit_once(api, webhook_secret, git_task):
    name, url, repo = git_task
    pushed = repo.commit({"Dockerfile": "FROM scratch\nLABEL version=pushed\n"}, "2")
    delivery = str(uuid.uuid4())
    with ThreadPoolExecutor(10) as pool:
        copies = [pool.submit(_github, api, webhook_secret, "push", _push(url, pushed), delivery)
                  for _ in range(10)]  # fmt: skip
        answers = [copy.result() for copy in copies]
    assert {answer.status_code for answer in answers} == {202}, [a.text for a in answers]
    assert len({answer.text for answer in answers}) == 1
    (run_id,) = answers[0].json()["runs"]
    repo.commit({"Dockerfile": "FROM scratch\nLABEL version=later\n"}, "3")  # the branch moves on
    run = api.wait_for_run(run_id)
    log = call(api, "GET", f"/api/runs/{run_id}/logs").text
    assert run["status"] == "Succeeded", log
    assert (run["trigger"], run["task"], run["source"]["commit"]) == ("Commit", name, pushed)
    assert "version=pushed" in log and "version=later" not in log
    runs = api.get(f"/api/runs?task={name}").json()["runs"]
    assert [r["runId"] for r in runs] == [run_id]


def test_answers_for_what_starts_nothing(api, webhook_secret, git_task):
    name, url, repo = git_task
    head = repo.commit({"README": "x"}, "readme")
    assert _github(api, webhook_secret, "ping", {"zen": "hi", "repository": {"clone_url": url}}
                   ).json() == {"runs": [], "ignored": "the ping event starts nothing"}  # fmt: skip
    other = _github(api, webhook_secret, "push", _push(url, head, branch="dev"))
    assert (other.status_code, other.json()["runs"]) == (200, [])
    unknown = _github(api, webhook_secret, "issues", {"action": "opened"})
    assert (unknown.status_code, unknown.json()["runs"]) == (200, [])
    assert api.get(f"/api/runs?task={name}").json()["runs"] == []


def test_refusals(api, webhook_secret, git_task):
    _, url, repo = git_task
    head = repo.commit({"README": "y"}, "readme")
    delivery = str(uuid.uuid4())
    bad = _github(api, webhook_secret, "push", _push(url, head), delivery, "sha256=" + "0" * 64)
    assert bad.status_code == 401
    # Nothing was recorded: the same delivery id, properly signed, now starts a run.
    assert _github(api, webhook_secret, "push", _push(url, head), delivery).status_code == 202
    unsigned = requests.post(f"{api.url}/api/webhooks/github", json=_push(url, head),
                             headers={"X-GitHub-Event": "push"}, timeout=30)  # fmt: skip
    assert unsigned.status_code == 401
    assert _github(api, webhook_secret, "push", b'{"ref": ').status_code == 400
    huge = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    assert _github(api, webhook_secret, "push", huge).status_code == 413


def test_gitlab_and_gitea_pushes(api, webhook_secret, git_task):
    name, url, repo = git_task
    head = repo.commit({"Dockerfile": "FROM scratch\nLABEL version=gl\n"}, "gl")
    gitlab = {"object_kind": "push", "ref": "refs/heads/main", "after": head, "checkout_sha": head,
              "project": {"git_http_url": url, "default_branch": "main"}}  # fmt: skip
    answer = requests.post(f"{api.url}/api/webhooks/gitlab", json=gitlab, timeout=30,
                           headers={"X-Gitlab-Event": "Push Hook",
                                    "X-Gitlab-Token": webhook_secret})  # fmt: skip
    assert answer.status_code == 202, answer.text
    raw = json.dumps(_push(url, head)).encode()
    signature = hmac.new(webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
    answer = requests.post(f"{api.url}/api/webhooks/gitea", data=raw, timeout=30,
                           headers={"X-Gitea-Event": "push", "X-Gitea-Signature": signature,
                                    "X-Gitea-Delivery": str(uuid.uuid4())})  # fmt: skip
    assert answer.status_code == 202, answer.text
    newest, *older = api.get(f"/api/runs?task={name}").json()["runs"]
    assert api.wait_for_run(newest["runId"])["status"] == "Succeeded"
    for run in older:  # the same commit again: a still-queued run is superseded
        finished = api.wait_for_run(run["runId"])
        assert finished["status"] == "Succeeded" or "superseded" in (finished["error"] or "")
