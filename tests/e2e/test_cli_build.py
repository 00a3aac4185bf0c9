"""The newcomer's path: `drydock build FOLDER`, then pull and run the image."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import make_base_image

pytestmark = pytest.mark.e2e


def _drydock(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def base(docker_client, registry_host, unique_name):
    reference = f"{registry_host}/{unique_name}/base:1"
    make_base_image(docker_client, reference)
    return reference


def test_a_folder_built_through_the_cli_can_be_pulled_and_run(
    api_url, base, docker_client, registry_host, unique_name, tmp_path
):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(
        f'FROM {base}\nCOPY message.txt /message.txt\nCMD ["cat", "/message.txt"]\n'
    )
    (app / "message.txt").write_text(f"hello from {unique_name}\n")
    (app / "secret.env").write_text("must not be sent\n")
    (app / ".dockerignore").write_text("secret.env\n")
    result = _drydock(
        "build",
        str(app),
        "-t",
        f"{unique_name}/hello:{{{{.Run.ID}}}}",
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully pushed image" in result.stdout
    run_id = next(
        line.split()[-1]
        for line in result.stdout.splitlines()
        if line.startswith("Queued a build with ID")
    )
    reference = f"{registry_host}/{unique_name}/hello:{run_id}"
    docker_client.images.remove(reference, force=True)
    docker_client.images.pull(reference)
    output = docker_client.containers.run(reference, remove=True).decode()
    assert output == f"hello from {unique_name}\n"
    listing = docker_client.containers.run(reference, ["ls", "/"], remove=True).decode()
    assert "secret.env" not in listing


def test_a_failing_build_exits_non_zero_with_the_reason(api_url, base, unique_name, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {base}\nRUN echo nope && exit 7\n")
    result = _drydock(
        "build", str(tmp_path), "-t", f"{unique_name}/broken:1", cwd=Path(__file__).parents[2]
    )
    assert result.returncode == 1
    assert "non-zero code: 7" in result.stdout + result.stderr
