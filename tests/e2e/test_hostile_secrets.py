"""Secrets through the whole stack: a secret build arg printed in pieces, across
output chunks, is masked in the streamed log; it is never in the run record, its
error, or a listing; a task's webhook secret and secret args are never answered."""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.task_support import call
from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base(docker_client):
    registry = os.environ.get("DRYDOCK_TEST_REGISTRY", "localhost:5000")
    reference = f"{registry}/hostile-secrets/base:1"
    make_base_image(docker_client, reference)
    return reference


def _build(api, dockerfile: str, secret: str) -> tuple[dict, str]:
    response = api.post(
        "/api/builds?noPush=true&secretBuildArg=TOKEN=" + secret,
        data=make_tar({"Dockerfile": dockerfile}),
        headers={"Content-Type": "application/gzip"},
    )
    assert response.status_code == 202, response.text
    run = api.wait_for_run(response.json()["runId"])
    return run, api.get(f"/api/runs/{run['runId']}/logs").text


def _nowhere(api, run: dict, secret: str, log: str) -> None:
    assert secret not in log
    assert secret not in json.dumps(run)
    assert secret not in json.dumps(api.get(f"/api/runs/{run['runId']}").json())
    assert secret not in api.get("/api/runs?top=200").text
    # Nor any piece long enough to give it away.
    assert secret[: len(secret) // 2 + 1] not in log and secret[len(secret) // 2 :] not in log


def test_a_secret_printed_in_pieces_across_chunks_is_masked(api, base, unique_name):
    secret = "Zq7" + unique_name + "xK9"
    half = len(secret) // 2
    # printf without newline, a pause between the pieces: separate engine chunks, one line.
    dockerfile = (
        f"FROM {base}\nARG TOKEN\n"
        f'RUN printf "token=%s" "$(echo "$TOKEN" | cut -c1-{half})"; sleep 1; '
        f'printf "%s\\n" "$(echo "$TOKEN" | cut -c{half + 1}-)"; '
        f'for i in $(seq 1 ${{#TOKEN}}); do printf "%s" "$(echo "$TOKEN" | cut -c$i)"; '
        "sleep 0.05; done; echo\n"
    )
    run, log = _build(api, dockerfile, secret)
    assert run["status"] == "Succeeded", log
    assert "token=***" in log, log
    _nowhere(api, run, secret, log)


def test_a_failing_step_that_echoes_the_secret_keeps_it_out_of_the_error(api, base, unique_name):
    secret = "Vw4" + unique_name + "pL2"
    dockerfile = f'FROM {base}\nARG TOKEN\nRUN echo "bad $TOKEN" >&2; echo "$TOKEN"; exit 3\n'
    run, log = _build(api, dockerfile, secret)
    assert run["status"] == "Failed" and run["error"], run
    _nowhere(api, run, secret, log)


def test_task_secrets_are_never_answered(api, unique_name):
    name = f"sec-{unique_name}"
    webhook_secret = "whs-" + unique_name + "-0123456789"
    arg_secret = "arg-" + unique_name + "-9876543210"
    body = {
        "context": "http://127.0.0.1:9/org/app.git#main",  # loopback: no egress
        "images": ["app:{{.Run.ID}}"],
        "webhookSecret": webhook_secret,
        "secretBuildArgs": {"TOKEN": arg_secret},
        "triggers": {"baseImage": {"enabled": False}},
    }
    try:
        put = call(api, "PUT", f"/api/tasks/{name}", json=body)
        assert put.status_code == 201, put.text
        answers = [put.text, call(api, "GET", f"/api/tasks/{name}").text]
        answers.append(call(api, "GET", "/api/tasks").text)
        for answer in answers:
            assert webhook_secret not in answer and arg_secret not in answer
        shown = call(api, "GET", f"/api/tasks/{name}").json()
        assert shown["webhookSecretSet"] is True and shown["secretBuildArgNames"] == ["TOKEN"]
    finally:
        call(api, "DELETE", f"/api/tasks/{name}")
