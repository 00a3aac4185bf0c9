"""POST /api/runs (``az acr run``) through the functions host and the builder."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e


def _registry() -> str:
    return os.environ.get("DRYDOCK_TEST_REGISTRY", "localhost:5000")


@pytest.fixture
def base(docker_client, unique_name):
    reference = f"{_registry()}/{unique_name}/base:1"
    make_base_image(docker_client, reference)
    return reference


def test_post_runs_needs_the_key(api_url):
    import requests

    assert requests.post(f"{api_url}/api/runs", json={}, timeout=10).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one of file"),
        ({"file": "Dockerfile"}, "must be a task file"),
        ({"cmd": "x", "colour": "red"}, "unknown field"),
        ({"cmd": "x", "set": {"a b": "1"}}, "invalid"),
    ],
)
def test_bad_input_is_a_400(api, body, message):
    response = api.post(
        "/api/runs", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and message in response.json()["error"], response.text


def test_a_tarball_task_file_runs_with_set_values(api, base, unique_name):
    task = (
        "version: v1.1.0\n"
        "steps:\n"
        f"  - build: -t $Registry/{unique_name}/app:$ID .\n"
        f"  - cmd: $Registry/{unique_name}/app:$ID echo {{{{.Values.greeting}}}}\n"
        "    id: greet\n"
        "  - push:\n"
        f"    - $Registry/{unique_name}/app:$ID\n"
    )
    archive = make_tar({"acr-task.yaml": task, "Dockerfile": f"FROM {base}\n"})
    response = api.post(
        "/api/runs?file=acr-task.yaml&set=greeting=ahoy-from-e2e",
        data=archive,
        headers={"Content-Type": "application/gzip"},
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert response.headers["Location"] == f"/api/runs/{queued['runId']}"
    run = api.wait_for_run(queued["runId"])
    log = api.get(f"/api/runs/{run['runId']}/logs").text
    assert run["status"] == "Succeeded", log
    assert "ahoy-from-e2e" in log
    assert run["images"][0]["digest"].startswith("sha256:")
    assert run["dependencies"]["runtime"]["image"] == base


def test_a_cmd_run_without_context(api, base):
    response = api.post("/api/runs", json={"cmd": f"{base} echo hello-cmd", "timeout": 120})
    assert response.status_code == 202, response.text
    run = api.wait_for_run(response.json()["runId"])
    log = api.get(f"/api/runs/{run['runId']}/logs").text
    assert run["status"] == "Succeeded", log
    assert "hello-cmd" in log


def test_an_inline_task_file_that_fails_fails_the_run(api, base):
    task = f"steps:\n  - cmd: {base} false\n"
    response = api.post("/api/runs", json={"taskFile": task})
    assert response.status_code == 202, response.text
    run = api.wait_for_run(response.json()["runId"])
    assert run["status"] == "Failed" and "exited with code 1" in run["error"]
