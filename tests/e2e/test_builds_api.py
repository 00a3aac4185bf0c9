"""POST /api/builds and the run routes, through the functions host."""

from __future__ import annotations

import gzip
import json

import pytest
import requests

from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e


def test_health_is_anonymous(api_url):
    response = requests.get(f"{api_url}/api/health", timeout=10)
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/builds"),
        ("GET", "/api/runs"),
        ("GET", "/api/runs/dd1"),
        ("GET", "/api/runs/dd1/logs"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"x-functions-key": "wrong"}])
def test_rest_routes_need_the_key(api_url, method, path, headers):
    response = requests.request(method, f"{api_url}{path}", headers=headers, timeout=10)
    assert response.status_code == 401


def test_the_key_may_come_as_code_query(api_url, api_key):
    response = requests.get(f"{api_url}/api/runs", params={"code": api_key, "top": 1}, timeout=10)
    assert response.status_code == 200 and "runs" in response.json()


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{oops", "application/json", "not valid JSON"),
        (json.dumps({"file": "Dockerfile"}).encode(), "application/json", "context is missing"),
        (
            json.dumps({"context": "https://example.com/r.git", "images": ["Bad Name:1"]}).encode(),
            "application/json",
            "Bad Name",
        ),
        (json.dumps({"context": "file:///etc/passwd"}).encode(), "application/json", "file"),
        (json.dumps({"context": "ext::sh -c id"}).encode(), "application/json", "ext"),
        (json.dumps({"context": "--upload-pack=id"}).encode(), "application/json", "-"),
        (
            json.dumps({"context": "http://169.254.169.254/latest.tar.gz"}).encode(),
            "application/json",
            "link-local",
        ),
        (
            json.dumps({"context": "https://example.com/r.git", "timeout": "x"}).encode(),
            "application/json",
            "timeout",
        ),
        (b"this is not an archive", "application/gzip", "not a gzip or tar"),
        (gzip.compress(b"gzip but not a tar"), "application/gzip", "not a gzip or tar"),
        (make_tar({"x": "evil"}, name_override="../evil"), "application/gzip", "evil"),
        (make_tar({"x": "evil"}, name_override="/etc/evil"), "application/gzip", "evil"),
        (b"x", "text/csv", "Content-Type"),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_wrong(api, body, content_type, message):
    response = api.post("/api/builds", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert message.lower() in response.json()["error"].lower()


def test_a_body_over_100_mb_is_refused_with_413(api):
    response = api.post(
        "/api/builds",
        data=b"\0" * (100 * 1024 * 1024 + 1),
        headers={"Content-Type": "application/gzip"},
    )
    assert response.status_code == 413


def test_unknown_runs_are_404(api):
    assert api.get("/api/runs/dd999999").status_code == 404
    assert api.get("/api/runs/nonsense").status_code == 404
    assert api.get("/api/runs/dd999999/logs").status_code == 404


@pytest.mark.parametrize("query", ["status=Done", "trigger=Push", "top=0", "top=abc"])
def test_bad_list_filters_are_400(api, query):
    response = api.get(f"/api/runs?{query}")
    assert response.status_code == 400 and response.json()["error"]


def test_a_tarball_build_runs_to_success_with_its_log(api, docker_client, unique_name):
    registry = _registry()
    base = f"{registry}/{unique_name}/base:1"
    make_base_image(docker_client, base)
    archive = make_tar({"Dockerfile": f"FROM {base}\nRUN echo built-by-drydock\n"})
    response = api.post(
        f"/api/builds?image={unique_name}/app:{{{{.Run.ID}}}}",
        data=archive,
        headers={"Content-Type": "application/gzip"},
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "Queued" and queued["trigger"] == "Manual"
    assert response.headers["Location"] == f"/api/runs/{queued['runId']}"
    run = api.wait_for_run(queued["runId"])
    assert run["status"] == "Succeeded", run
    assert run["images"][0]["tag"] == run["runId"] and run["images"][0]["digest"].startswith(
        "sha256:"
    )
    assert run["dependencies"]["runtime"]["image"] == base
    log = api.get(f"/api/runs/{run['runId']}/logs")
    assert log.headers["X-Run-Status"] == "Succeeded"
    assert "built-by-drydock" in log.text
    offset = int(log.headers["X-Log-Offset"])
    assert offset == len(log.content)
    tail = api.get(f"/api/runs/{run['runId']}/logs?offset=10")
    assert tail.content == log.content[10:]
    # Other runs may start meanwhile (this stack is shared by the whole e2e tier).
    listed = api.get("/api/runs?top=50").json()["runs"]
    assert run["runId"] in [item["runId"] for item in listed]


def _registry() -> str:
    import os

    return os.environ.get("DRYDOCK_TEST_REGISTRY", "localhost:5000")
