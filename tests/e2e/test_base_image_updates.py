"""The headline through the running stack: the test registry notifies the host of
every push (infra/local/parts.py), so pushing a new base under the same tag
rebuilds the task that built FROM it, once, within seconds."""

from __future__ import annotations

import time

import pytest

from tests.e2e.task_support import call
from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e


def _wait(what, probe, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_pushing_a_new_base_rebuilds_the_task_once(
    api, web, docker_client, registry_host, unique_name
):
    url, routes = web
    base = f"{registry_host}/{unique_name}/base:1"
    v1 = make_base_image(docker_client, base, {"/etc/release": "one\n"})
    routes["/ctx.tar.gz"] = (200, {}, make_tar({"Dockerfile": f"FROM {base}\nRUN true\n"}))
    name = f"{unique_name}-app"
    body = {"context": f"{url}/ctx.tar.gz", "images": [f"{unique_name}/app:latest"]}
    assert call(api, "PUT", f"/api/tasks/{name}", json=body).status_code == 201

    # A builder parses the Dockerfile on save: the base is tracked before any run.
    bases = _wait("discovery", lambda: call(api, "GET", f"/api/tasks/{name}").json()["baseImages"])
    assert [(b["image"], b["builtWith"], b["stale"]) for b in bases] == [(base, v1, False)]

    v2 = make_base_image(docker_client, base, {"/etc/release": "two\n"})
    query = f"/api/runs?task={name}&trigger=BaseImageUpdate"
    # The poll runs only every 5 minutes in this stack, so the rebuild comes from the
    # registry's push event (its latency is measured in bench/); once either way.
    (queued,) = _wait("the rebuild", lambda: api.get(query).json()["runs"])
    assert queued["baseImageUpdate"]["fromDigest"] == v1
    assert queued["baseImageUpdate"]["toDigest"] == v2
    run = api.wait_for_run(queued["runId"])
    assert run["status"] == "Succeeded", run
    assert run["dependencies"]["runtime"]["digest"] == v2
    time.sleep(2)  # repeated notifications and the run's own event must start nothing more
    assert len(api.get(query).json()["runs"]) == 1
    output = docker_client.containers.run(
        f"{registry_host}/{unique_name}/app:latest", ["cat", "/etc/release"], remove=True
    )
    assert output.decode() == "two\n"
