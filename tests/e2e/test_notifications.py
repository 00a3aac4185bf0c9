"""Run notifications through the running stack: a task's targets hear, signed, of the
runs that end in a status they listed; a flaky one after a retry; a canceled run too;
a target on a link-local address is refused when the task is saved."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from tests.e2e.task_support import call, webhook_secret_from_env
from tests.support.hook_server import hook_server, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def hooks():
    with hook_server() as server:
        yield server


@pytest.fixture
def task_name(api):
    name = f"notify-{uuid.uuid4().hex[:10]}"
    yield name
    call(api, "DELETE", f"/api/tasks/{name}")


def _put(api, name: str, body: dict):
    return call(api, "PUT", f"/api/tasks/{name}", json=body)


def _signed(headers: dict[str, str], body: bytes, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-drydock-signature-256", ""), expected)


def test_a_failed_run_is_announced_to_its_targets_signed(api, hooks, task_name):
    hooks.script["/flaky"] = [500]
    own_secret = "e2e-targets-own-secret"
    task = {
        "context": f"{hooks.url}/missing.tar.gz",  # 404: the run ends Failed
        "images": [f"{task_name}:{{{{.Run.ID}}}}"],
        "notifications": [
            {"url": f"{hooks.url}/steady", "on": ["Failed"]},
            {"url": f"{hooks.url}/flaky", "on": ["Failed"], "secret": own_secret},
            {"url": f"{hooks.url}/successes-only", "on": ["Succeeded"]},
        ],
    }
    saved = _put(api, task_name, task)
    assert saved.status_code == 201, saved.text
    shown = api.get(f"/api/tasks/{task_name}").json()["notifications"]
    assert [target["secretSet"] for target in shown] == [False, True, False]
    assert own_secret not in json.dumps(shown)

    started = api.post(f"/api/tasks/{task_name}/runs", json={})
    assert started.status_code == 202, started.text
    run = api.wait_for_run(started.json()["runId"])
    assert run["status"] == "Failed"

    wait_until(lambda: hooks.delivered("/steady") and hooks.delivered("/flaky"), 60,
               "both deliveries")  # fmt: skip
    ((headers, body),) = hooks.delivered("/steady")
    assert _signed(headers, body, webhook_secret_from_env())
    assert headers["x-drydock-event"] == "run.finished"
    summary = json.loads(body)
    assert (summary["runId"], summary["status"], summary["task"]) == (
        run["runId"], "Failed", task_name,
    )  # fmt: skip
    assert summary["links"]["run"] == f"/api/runs/{run['runId']}"
    flaky = hooks.received["/flaky"]
    assert [status for _, _, status in flaky] == [500, 200]
    assert flaky[0][0]["x-drydock-delivery"] == flaky[1][0]["x-drydock-delivery"]
    assert _signed(flaky[1][0], flaky[1][1], own_secret)
    assert "/successes-only" not in hooks.received


def test_a_canceled_run_is_announced(api, hooks, task_name):
    hooks.get_delay = 20  # the context downloads slowly: the run is still going when canceled
    task = {
        "context": f"{hooks.url}/slow.tar.gz",
        "images": [f"{task_name}:v1"],
        "notifications": [{"url": f"{hooks.url}/canceled", "on": ["Canceled"]}],
    }
    assert _put(api, task_name, task).status_code == 201
    run_id = api.post(f"/api/tasks/{task_name}/runs", json={}).json()["runId"]
    canceled = api.post(f"/api/runs/{run_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    wait_until(lambda: hooks.delivered("/canceled"), 30, "the cancel notification")
    ((_, body),) = hooks.delivered("/canceled")
    assert json.loads(body)["status"] == "Canceled"


def test_a_link_local_target_is_refused_when_the_task_is_saved(api, task_name):
    task = {
        "context": "https://example.com/app.tar.gz",
        "images": ["app:v1"],
        "notifications": [{"url": "http://169.254.169.254/latest/meta-data/"}],
    }
    answer = _put(api, task_name, task)
    assert answer.status_code == 400
    assert "link-local" in answer.json()["error"]
