"""The builder image (infra/builder/Dockerfile) running as a container, as in
production: it takes runs off its own queue in the test Azurite and drives the
host's Docker Engine through the mounted socket, as the unprivileged user the
image declares.

The image is built by infra/builder/build-image.sh (what `make builder-image`
runs). The first build here makes the Debian base with debootstrap and installs
the requirements: about two minutes; afterwards every layer is cached and the
build takes a second or two, so the image always holds the code under test.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from builder.run_lifecycle import BuilderContext
from shared.build_requests import parse_json_build_request, parse_query_build_request
from shared.runs import Run, RunStatus
from shared.submission import submit_build
from tests.support.archives import make_tar

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
IMAGE = "drydock/builder:dev"
BUILDER_UID = "10001"
RUN_WAIT_SECONDS = 180
TERMINAL = {
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELED,
    RunStatus.ERROR,
    RunStatus.TIMEOUT,
}
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


@pytest.fixture(scope="session")
def builder_image(docker_client) -> str:
    result = subprocess.run(
        [str(REPO / "infra" / "builder" / "build-image.sh"), "--tag", IMAGE],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return IMAGE


def _engine_mount() -> tuple[dict[str, dict[str, str]], dict[str, str], list[int]]:
    """Volumes, environment and extra groups that give the container the engine
    this test session uses: its unix socket mounted at the default path, with
    the socket's group (root:<gid> 0660, the gid differing between hosts)."""
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not docker_host.startswith("unix://"):
        return {}, {"DOCKER_HOST": docker_host}, []  # tcp: reachable over the host network
    socket_path = docker_host.removeprefix("unix://")
    volumes = {socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"}}
    return volumes, {}, [os.stat(socket_path).st_gid]


@pytest.fixture
def builder_container(builder_image, docker_client, ctx: BuilderContext, storage_connection):
    volumes, engine_env, groups = _engine_mount()
    settings = ctx.adapters.settings
    container = docker_client.containers.run(
        builder_image,
        [
            "--queue",
            ctx.adapters.build_queue.name,
            "--events-queue",
            ctx.adapters.events_queue.name,
            "--concurrency",
            "1",
        ],
        detach=True,
        # Loopback is where the test Azurite and registry listen.
        network_mode="host",
        volumes=volumes,
        group_add=groups,
        environment={
            "AzureWebJobsStorage": storage_connection,
            "DRYDOCK_REGISTRY": settings.registry,
            "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true",
            **engine_env,
        },
        labels={"org.drydock.test": "builder-image"},
    )
    yield container
    container.stop(timeout=10)
    container.remove(force=True)


def _wait_for_end(ctx: BuilderContext, run_id: str, container) -> Run:
    deadline = time.monotonic() + RUN_WAIT_SECONDS
    while time.monotonic() < deadline:
        run = ctx.adapters.runs.get(run_id)[0]
        if run.status in TERMINAL:
            return run
        container.reload()
        if container.status != "running":
            break
        time.sleep(0.5)
    logs = container.logs(tail=40).decode(errors="replace")
    pytest.fail(f"run {run_id} did not end (container {container.status}); builder log:\n{logs}")


def _registry_digest(registry: str, repository: str, tag: str) -> str:
    response = requests.head(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def test_the_containerized_builder_takes_a_run_builds_and_pushes(
    ctx, base, builder_container, registry_host, unique_name
):
    base_ref, base_digest = base
    archive = make_tar(
        {
            "Dockerfile": f"FROM {base_ref}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n",
            "hello.txt": "built in a container\n",
        }
    )
    request = parse_query_build_request([("image", f"{unique_name}/app:{{{{.Run.ID}}}}")])
    queued = submit_build(
        request, ctx.adapters.submission(), datetime.now(UTC), io.BytesIO(archive)
    )

    run = _wait_for_end(ctx, queued.run_id, builder_container)

    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert run.status is RunStatus.SUCCEEDED, f"{run.error}\n{log}"
    (image,) = run.images
    assert image.tag == run.run_id
    assert image.digest == _registry_digest(registry_host, image.repository, image.tag)
    assert run.dependencies.runtime is not None
    assert run.dependencies.runtime.digest == base_digest
    assert "built in a container" in log


def test_the_builder_runs_unprivileged_with_git(builder_container):
    uid = builder_container.exec_run(["id", "-u"]).output.decode().strip()
    git = builder_container.exec_run(["git", "--version"])
    assert uid == BUILDER_UID
    assert git.exit_code == 0, git.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def git_url(tmp_path, base) -> Iterator[str]:
    """A one-commit repository FROM the test base, served by ``git daemon`` on loopback."""
    served, work = tmp_path / "served", tmp_path / "work"
    served.mkdir()
    work.mkdir()
    (work / "Dockerfile").write_text(f"FROM {base[0]}\nCOPY app.txt /app.txt\n")
    (work / "app.txt").write_text("from git\n")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "one"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)
    bare = served / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], env=env, check=True)
    port = _free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}"]
        + ["--listen=127.0.0.1", f"--port={port}", str(served)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"git://127.0.0.1:{port}/app.git#main"
    daemon.terminate()
    daemon.wait(timeout=10)


def test_the_containerized_builder_clones_a_git_context(
    ctx, git_url, builder_container, unique_name
):
    request = parse_json_build_request(
        json.dumps({"context": git_url, "images": [f"{unique_name}/web:1"]}).encode()
    )
    queued = submit_build(request, ctx.adapters.submission(), datetime.now(UTC))

    run = _wait_for_end(ctx, queued.run_id, builder_container)

    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert run.status is RunStatus.SUCCEEDED, f"{run.error}\n{log}"
    assert run.images[0].digest
