"""Cancel and archive through the running host, its builder and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base(docker_client, registry_host, unique_name):
    reference = f"{registry_host}/{unique_name}/base:1"
    make_base_image(docker_client, reference)
    return reference


def _submit(api, dockerfile: str) -> str:
    response = api.post(
        "/api/builds?noPush=true",
        data=make_tar({"Dockerfile": dockerfile}),
        headers={"Content-Type": "application/gzip"},
    )
    assert response.status_code == 202, response.text
    return response.json()["runId"]


def _wait_for_log(api, run_id: str, text: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = api.get(f"/api/runs/{run_id}/logs").text
        if text in log:
            return log
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared in the log of {run_id}")


def _patch(api, api_key: str, path: str, **kwargs) -> requests.Response:
    headers = {"x-functions-key": api_key}
    return requests.patch(f"{api.url}{path}", headers=headers, timeout=30, **kwargs)


def _drydock(api, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRYDOCK_URL": api.url}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_canceling_a_running_build_ends_it_canceled_within_seconds(api, base, unique_name):
    marker = f"e2e-cancel-{unique_name}"
    run_id = _submit(api, f"FROM {base}\nRUN echo {marker} && sleep 60\n")
    _wait_for_log(api, run_id, marker)

    started = time.monotonic()
    response = api.post(f"/api/runs/{run_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "Canceled"
    log = _wait_for_log(api, run_id, f"Run {run_id} Canceled", timeout=10)
    assert time.monotonic() - started < 5
    assert marker in log and "the run was canceled" in log
    assert api.get(f"/api/runs/{run_id}").json()["status"] == "Canceled"

    again = api.post(f"/api/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert "already ended as Canceled" in again.json()["error"]


def test_cancel_and_update_of_unknown_runs_are_404(api, api_key):
    assert api.post("/api/runs/dd0zzzzzz/cancel").status_code == 404
    response = _patch(api, api_key, "/api/runs/ddzzzzzz", json={"archived": True})
    assert response.status_code == 404 and "not found" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "not valid JSON"),
        (b'{"archived": "yes"}', "true or false"),
        (b'{"archived": true, "status": "Succeeded"}', "only archived can change"),
        (b"[]", "only archived can change"),
    ],
)
def test_a_bad_update_is_a_400_that_says_what_to_send(api, api_key, body, message):
    # The body is checked before the run is looked up: no run is needed.
    response = _patch(api, api_key, "/api/runs/ddzzzzzz", data=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_archive_through_http_and_the_cli(api, api_key, base):
    run_id = _submit(api, f"FROM {base}\n")
    assert api.wait_for_run(run_id)["status"] == "Succeeded"

    response = _patch(api, api_key, f"/api/runs/{run_id}", json={"archived": True})
    assert response.status_code == 200 and response.json()["archived"] is True
    assert api.get(f"/api/runs/{run_id}").json()["archived"] is True

    # ACR's flag: --no-archive true un-archives, --no-archive false archives.
    result = _drydock(api, "task", "update-run", "--run-id", run_id, "--no-archive", "true")
    assert result.returncode == 0, result.stderr
    assert api.get(f"/api/runs/{run_id}").json()["archived"] is False
    result = _drydock(api, "task", "update-run", "--run-id", run_id, "--no-archive", "false")
    assert result.returncode == 0, result.stderr
    assert '"archived": true' in result.stdout

    result = _drydock(api, "task", "cancel-run", "--run-id", run_id)
    assert result.returncode == 3
    assert "already ended as Succeeded" in result.stderr


def test_cancel_run_from_the_cli_stops_a_running_build(api, base, unique_name):
    marker = f"e2e-cli-cancel-{unique_name}"
    run_id = _submit(api, f"FROM {base}\nRUN echo {marker} && sleep 60\n")
    _wait_for_log(api, run_id, marker)
    result = _drydock(api, "task", "cancel-run", "--run-id", run_id)
    assert result.returncode == 0, result.stderr
    assert f"Run {run_id} Canceled." in result.stdout
    _wait_for_log(api, run_id, f"Run {run_id} Canceled", timeout=10)
