"""Multi-step containers stay confined: no privileged step unless the builder's
DRYDOCK_ALLOW_PRIVILEGED allows it, no host paths or Docker socket, no named networks."""

from __future__ import annotations

import re

import pytest

from shared.errors import InvalidRequest
from tests.integration.test_multi_step import run_steps, steps_by_id

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _settings(monkeypatch, registry_host):
    monkeypatch.setenv("DRYDOCK_REGISTRY", registry_host)
    monkeypatch.delenv("DRYDOCK_ALLOW_PRIVILEGED", raising=False)


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        pytest.param("privileged: true", "privileged containers are refused", id="privileged"),
        pytest.param(
            "volumeMounts:\n      - name: host\n        mountPath: /var/run/docker.sock",
            "volumeMounts",
            id="socket mount",
        ),
        pytest.param("network: host", "network", id="host network"),
    ],
)
def test_a_step_asking_for_the_host_fails_before_any_container_starts(
    ctx, base, tmp_path, docker_client, step, reason
):
    image, _ = base
    task = f"""\
    volumes:
      - name: host
        secret:
          x: eA==
    steps:
      - id: escape
        cmd: {image} touch /tmp/escaped
        {step}
    """
    before = {c.id for c in docker_client.containers.list(all=True)}
    try:
        job, error, log = run_steps(ctx, tmp_path, task)
    except InvalidRequest as exc:  # refused while validating the file: also before anything
        job, error, log = None, exc, ""
    assert error is not None and re.search(reason, str(error)), log
    if job is not None:
        assert steps_by_id(job)["escape"]["status"] == "Failed"
    assert {c.id for c in docker_client.containers.list(all=True)} <= before


def test_a_step_sees_no_docker_socket_no_host_paths_and_is_not_privileged(ctx, base, tmp_path):
    image, _ = base
    probe = (
        "test ! -e /var/run/docker.sock && echo no-socket; "
        "grep -c ' /workspace ' /proc/mounts; "
        # A privileged container sees the host's devices; a confined one a handful.
        "test ! -e /dev/mem && echo no-dev-mem; "
        "cat /proc/self/status | grep CapEff"
    )
    job, error, log = run_steps(
        ctx, tmp_path, f'steps:\n  - id: probe\n    cmd: {image} sh -c "{probe}"\n'
    )
    assert error is None, log
    assert "no-socket" in log and "no-dev-mem" in log
    cap_line = next(line for line in log.splitlines() if "CapEff" in line)
    assert cap_line.split()[-1] != "000001ffffffffff"  # not the full set a privileged step gets
