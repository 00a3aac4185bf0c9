"""Tasks through the running functions host: CRUD, manual runs and timers."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests

from tests.e2e.task_support import call, served_repository

pytestmark = pytest.mark.e2e


@pytest.fixture
def served_repo(tmp_path):
    with served_repository(tmp_path) as served:
        yield served


@pytest.fixture
def task_name(unique_name):
    yield f"task-{unique_name}"


def test_create_read_list_replace_delete(api, task_name):
    body = {"context": "https://git.example.com/owner/app.git#main", "images": ["app:{{.Run.ID}}"],
            "secretBuildArgs": {"TOKEN": "hunter2"}}  # fmt: skip
    created = call(api, "PUT", f"/api/tasks/{task_name}", json=body, headers={"If-None-Match": "*"})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["triggers"]["commit"] == {"enabled": True, "branches": []}
    assert task["triggers"]["pullRequest"]["enabled"] is False
    assert task["triggers"]["baseImage"] == {"enabled": True, "type": "Runtime"}
    assert "hunter2" not in created.text and task["secretBuildArgNames"] == ["TOKEN"]
    again = call(api, "PUT", f"/api/tasks/{task_name}", json=body, headers={"If-None-Match": "*"})
    assert again.status_code == 409

    read = call(api, "GET", f"/api/tasks/{task_name.upper()}")
    assert read.status_code == 200 and read.json()["name"] == task_name
    listed = call(api, "GET", "/api/tasks").json()["tasks"]
    assert task_name in [t["name"] for t in listed]

    changed = {**read.json(), "status": "Disabled"}
    replaced = call(api, "PUT", f"/api/tasks/{task_name}", json=changed,
                    headers={"If-Match": read.headers["ETag"]})  # fmt: skip
    assert replaced.status_code == 200 and replaced.json()["status"] == "Disabled"
    assert replaced.json()["secretBuildArgNames"] == ["TOKEN"]
    stale = call(api, "PUT", f"/api/tasks/{task_name}", json=changed,
                 headers={"If-Match": read.headers["ETag"]})  # fmt: skip
    assert stale.status_code == 409

    run = call(api, "POST", f"/api/tasks/{task_name}/runs", json={})
    assert run.status_code == 409 and "Disabled" in run.json()["error"]

    assert call(api, "DELETE", f"/api/tasks/{task_name}").status_code == 204
    assert call(api, "GET", f"/api/tasks/{task_name}").status_code == 404
    assert call(api, "DELETE", f"/api/tasks/{task_name}").status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("abc", {"context": "https://h.example/r.git"}, 400),
        ("valid-name", {"context": "file:///etc/passwd"}, 400),
        ("valid-name", {"context": "https://h.example/r.git#-upload-pack"}, 400),
        (
            "valid-name",
            {
                "context": "https://h.example/r.git",
                "triggers": {"timers": [{"name": "t1", "schedule": "often"}]},
            },
            400,
        ),  # fmt: skip
    ],
)
def test_invalid_tasks_are_refused(api, name, body, status):
    answer = call(api, "PUT", f"/api/tasks/{name}", json=body)
    assert answer.status_code == status and answer.json()["error"]


def test_the_api_key_is_required(api):
    assert requests.get(f"{api.url}/api/tasks", timeout=30).status_code == 401
    assert requests.put(f"{api.url}/api/tasks/any-task", json={}, timeout=30).status_code == 401


def test_unknown_tasks_are_404(api):
    assert call(api, "GET", "/api/tasks/no-such-task-here").status_code == 404
    assert call(api, "POST", "/api/tasks/no-such-task-here/runs", json={}).status_code == 404


def test_a_manual_run_builds_the_tasks_context_with_values(api, task_name, served_repo):
    url, repo = served_repo
    repo.commit({"Dockerfile": "FROM scratch\nARG WHO\nLABEL who=$WHO\nCOPY app.txt /\n",
                 "app.txt": "hello\n"}, "1")  # fmt: skip
    body = {"context": f"{url}#main", "noPush": True, "buildArgs": {"WHO": "{{.Values.who}}"},
            "values": {"who": "task"}}  # fmt: skip
    assert call(api, "PUT", f"/api/tasks/{task_name}", json=body).status_code == 201
    started = call(api, "POST", f"/api/tasks/{task_name}/runs", json={"set": {"who": "manual"}})
    assert started.status_code == 202, started.text
    run = api.wait_for_run(started.json()["runId"])
    log = call(api, "GET", f"/api/runs/{run['runId']}/logs").text
    assert run["status"] == "Succeeded", log
    assert (run["trigger"], run["task"]) == ("Manual", task_name)
    call(api, "DELETE", f"/api/tasks/{task_name}")


def test_a_timer_starts_one_run_per_occurrence(api, task_name, served_repo):
    url, repo = served_repo
    repo.commit({"Dockerfile": "FROM scratch\nCOPY app.txt /\n", "app.txt": "t\n"}, "1")
    body = {"context": url, "noPush": True,
            "triggers": {"timers": [{"name": "fast", "schedule": "*/20 * * * * *"}]}}  # fmt: skip
    assert call(api, "PUT", f"/api/tasks/{task_name}", json=body).status_code == 201
    runs: list = []
    deadline = time.monotonic() + 60
    while not runs and time.monotonic() < deadline:
        time.sleep(2)
        runs = api.get(f"/api/runs?task={task_name}&trigger=Timer").json()["runs"]
    # Disable before judging, so no further occurrence adds runs while we look.
    call(api, "PUT", f"/api/tasks/{task_name}", json={**body, "status": "Disabled"})
    assert runs, "no timer run within 60 s"
    (first,) = runs[-1:]
    assert first["trigger"] == "Timer"
    finished = api.wait_for_run(first["runId"])
    assert finished["status"] == "Succeeded"
    timer_runs = api.get(f"/api/runs?task={task_name}&trigger=Timer").json()["runs"]
    created = sorted(datetime.fromisoformat(run["createTime"]) for run in timer_runs)
    # One run per 20-second occurrence, however often the 10-second timer ticks.
    gaps = [
        (later - earlier).total_seconds()
        for earlier, later in zip(created, created[1:], strict=False)
    ]
    assert all(gap >= 10 for gap in gaps), created
    call(api, "DELETE", f"/api/tasks/{task_name}")
