"""Task-file ``networks`` against the real engine: created per run (so that runs
declaring the same name never clash) and removed with it, ``isDefault``
replacing the run's own network, ``skipCreation`` joining one the engine has."""

from __future__ import annotations

import threading
from contextlib import suppress

import docker.errors
import pytest

from tests.integration.test_multi_step import run_steps, steps_by_id

pytestmark = pytest.mark.integration

SERVER = "cmd: {image} httpd -f -p 8080 -h /workspace"
FETCH = 'cmd: {image} sh -c "wget -q -O - http://web:8080/hello.txt"'


@pytest.fixture(autouse=True)
def _settings(monkeypatch, registry_host):
    monkeypatch.setenv("DRYDOCK_REGISTRY", registry_host)
    monkeypatch.delenv("DRYDOCK_ALLOW_PRIVILEGED", raising=False)


def run_networks(docker_client, run_id: str) -> list[str]:
    return [
        n.name for n in docker_client.networks.list() if n.name.startswith(f"drydock-{run_id}-")
    ]


def step_log(log: str, step_id: str) -> str:
    start = log.index(f"Executing step ID: {step_id}.")
    return log[start : log.index(f"Step ID: {step_id} marked as", start)]


def test_a_named_network_carries_a_detached_server_reached_by_its_id(
    ctx, base, tmp_path, docker_client
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        networks:
          - name: backend
        steps:
          - id: web
            {SERVER.format(image=image)}
            detach: true
            network: backend
          - id: fetch
            {FETCH.format(image=image)}
            retries: 5
            retryDelay: 1
            network: backend
          - id: outsider
            cmd: {image} sh -c "wget -q -O - http://web:8080/hello.txt || echo not-reachable"
        """,
        {"hello.txt": "served-on-backend\n"},
    )
    assert error is None, log
    assert all(step["status"] == "Succeeded" for step in job.steps), log
    assert "served-on-backend" in step_log(log, "fetch")
    # A step on the run's default network does not see the backend's server.
    assert "not-reachable" in step_log(log, "outsider")
    assert run_networks(docker_client, job.run.run_id) == []  # removed with the run


def test_runs_declaring_the_same_network_name_at_once_do_not_clash(ctx, base, tmp_path):
    image, _ = base
    task = f"""\
        networks:
          - name: backend
            isDefault: true
        steps:
          - id: web
            {SERVER.format(image=image)}
            detach: true
          - id: fetch
            {FETCH.format(image=image)}
            retries: 5
            retryDelay: 1
          - cmd: {image} sleep 2
        """
    results: dict[int, tuple] = {}

    def run(number: int) -> None:
        folder = tmp_path / f"run{number}"
        folder.mkdir()
        results[number] = run_steps(ctx, folder, task, {"hello.txt": f"from-run-{number}\n"})

    threads = [threading.Thread(target=run, args=(number,)) for number in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for number, other in ((1, 2), (2, 1)):
        job, error, log = results[number]
        assert error is None, log
        assert f"from-run-{number}" in step_log(log, "fetch")
        assert f"from-run-{other}" not in log


def test_is_default_puts_steps_naming_no_network_on_it(ctx, base, tmp_path):
    """The server names no network, the client names ``a``: they meet only if
    ``a``, marked isDefault, replaced the run's own default network."""
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        networks:
          - name: b
          - name: a
            isDefault: true
        steps:
          - id: web
            {SERVER.format(image=image)}
            detach: true
          - id: fetch
            {FETCH.format(image=image)}
            retries: 5
            retryDelay: 1
            network: a
          - id: elsewhere
            cmd: {image} sh -c "wget -q -O - http://web:8080/hello.txt || echo not-reachable"
            network: b
        """,
        {"hello.txt": "served-on-a\n"},
    )
    assert error is None, log
    assert "served-on-a" in step_log(log, "fetch")
    assert "not-reachable" in step_log(log, "elsewhere")


def test_skip_creation_joins_an_existing_network_and_leaves_it(
    ctx, base, tmp_path, docker_client, unique_name
):
    image, _ = base
    existing = docker_client.networks.create(f"{unique_name}-existing", driver="bridge")
    try:
        job, error, log = run_steps(
            ctx,
            tmp_path,
            f"""\
            networks:
              - name: {existing.name}
                skipCreation: true
                isDefault: true
            steps:
              - id: web
                {SERVER.format(image=image)}
                detach: true
              - id: fetch
                {FETCH.format(image=image)}
                retries: 5
                retryDelay: 1
            """,
            {"hello.txt": "served-on-existing\n"},
        )
        assert error is None, log
        assert "served-on-existing" in step_log(log, "fetch")
        existing.reload()  # still there: the run did not create it, so it did not remove it
        assert existing.attrs["Containers"] == {}
    finally:
        existing.remove()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("never-created-anywhere", "the engine has no such network"),
        ("host", "the engine host's own network; refused unless"),
    ],
)
def test_a_skip_creation_network_that_cannot_be_joined_fails_before_any_step(
    ctx, base, tmp_path, docker_client, name, reason
):
    image, _ = base
    before = {c.id for c in docker_client.containers.list(all=True)}
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        networks:
          - name: {name}
            skipCreation: true
        steps:
          - id: escape
            cmd: {image} echo ran
            network: {name}
        """,
    )
    assert error is not None and reason in str(error), log
    assert steps_by_id(job)["escape"]["startTime"] is None
    assert {c.id for c in docker_client.containers.list(all=True)} <= before
    assert run_networks(docker_client, job.run.run_id) == []


def test_a_network_of_another_run_cannot_be_joined(ctx, base, tmp_path, docker_client, unique_name):
    image, _ = base
    theirs = docker_client.networks.create(
        f"{unique_name}-theirs", labels={"org.drydock.run-resource": "true"}
    )
    try:
        job, error, log = run_steps(
            ctx,
            tmp_path,
            f"""\
            networks:
              - name: {theirs.name}
                skipCreation: true
            steps:
              - cmd: {image} echo ran
                network: {theirs.name}
            """,
        )
        assert error is not None and "belongs to another run" in str(error), log
    finally:
        theirs.remove()


def test_an_ipv6_network_gives_steps_a_unique_local_address(ctx, base, tmp_path, docker_client):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        networks:
          - name: v6
            ipv6: true
        steps:
          - id: show
            cmd: {image} cat /proc/net/if_inet6
            network: v6
        """,
    )
    assert error is None, log
    addresses = [line.split()[0] for line in step_log(log, "show").splitlines()[1:] if line]
    assert any(address.startswith("fd") for address in addresses), log
    assert run_networks(docker_client, job.run.run_id) == []


def test_a_kept_server_outlives_the_run_but_its_network_does_not(
    ctx, base, tmp_path, docker_client
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        networks:
          - name: backend
        steps:
          - id: web
            {SERVER.format(image=image)}
            detach: true
            network: backend
            keep: true
        """,
    )
    kept = [
        c for c in docker_client.containers.list(all=True)
        if c.name.startswith(f"drydock-{job.run.run_id}-")
    ]  # fmt: skip
    try:
        assert error is None, log
        assert len(kept) == 1 and kept[0].status == "running"
        assert run_networks(docker_client, job.run.run_id) == []
    finally:
        for container in kept:
            with suppress(docker.errors.NotFound):
                container.remove(force=True)
        for volume in docker_client.volumes.list():
            if volume.name.startswith(f"drydock-{job.run.run_id}-"):
                volume.remove(force=True)
