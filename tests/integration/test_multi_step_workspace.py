"""Build steps build the run's shared workspace as earlier steps left it, as in
ACR: a ``cmd`` step may write the Dockerfile or the sources a later build uses."""

from __future__ import annotations

import pytest

from tests.integration.test_multi_step import run_steps, steps_by_id

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry_setting")]


def cat(docker_client, image: str, path: str) -> str:
    output = docker_client.containers.run(image, ["cat", path], remove=True, network_mode="none")
    return output.decode()


def test_a_build_step_builds_what_an_earlier_cmd_step_wrote_into_the_workspace(
    ctx, base, tmp_path, registry_host, unique_name, built_images, docker_client
):
    image, base_digest = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        version: v1.1.0
        steps:
          - id: generate
            cmd: >-
              {image} sh -c "mkdir -p gen && echo generated-$ID > gen/message.txt &&
              printf 'FROM {image}\\nCOPY message.txt /message.txt\\n' > gen/app.Dockerfile"
          - id: build
            build: -t $Registry/{unique_name}/gen:$ID -f app.Dockerfile gen
          - id: show
            cmd: $Registry/{unique_name}/gen:$ID cat /message.txt
        """,
    )
    reference = f"{registry_host}/{unique_name}/gen:{job.run.run_id}"
    built_images.append(reference)
    assert error is None, log
    assert all(step["status"] == "Succeeded" for step in job.steps), log
    assert cat(docker_client, reference, "/message.txt") == f"generated-{job.run.run_id}\n"
    assert f"generated-{job.run.run_id}" in log  # the show step ran the image too
    # The bases are read from the generated Dockerfile, with their digests.
    assert job.dependencies.runtime.image == image
    assert job.dependencies.runtime.digest == base_digest


def test_a_file_a_step_changed_is_built_as_changed_and_dockerignore_still_holds(
    ctx, base, tmp_path, registry_host, unique_name, built_images, docker_client
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - cmd: {image} sh -c "echo changed > version.txt && echo hush > local.secret"
          - build: -t {registry_host}/{unique_name}/app:1 .
        """,
        {
            "version.txt": "original\n",
            ".dockerignore": "*.secret\n",
            "Dockerfile": f"FROM {image}\nCOPY . /app/\n",
        },
    )
    reference = f"{registry_host}/{unique_name}/app:1"
    built_images.append(reference)
    assert error is None, log
    assert cat(docker_client, reference, "/app/version.txt") == "changed\n"
    listing = docker_client.containers.run(reference, ["ls", "-a", "/app"], remove=True)
    assert b"local.secret" not in listing and b"acr-task.yaml" in listing


@pytest.mark.parametrize(
    ("write", "context", "reason"),
    [
        pytest.param("ln -s /etc/passwd leak", ".", "points to '/etc/passwd'",
                     id="absolute symlink"),
        pytest.param("ln -s ../../etc sub/up", "sub", "outside the context", id="symlink out"),
        pytest.param("true", "..", "is not in the workspace", id="context above"),
        pytest.param("true", "missing", "is not in the workspace", id="no such folder"),
        pytest.param("true", "Dockerfile", "is a file, not a folder", id="a file as context"),
    ],
)  # fmt: skip
def test_a_workspace_that_is_no_safe_context_fails_the_build_step(
    ctx, base, tmp_path, write, context, reason
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - cmd: {image} sh -c "mkdir -p sub && cp Dockerfile sub/ && {write}"
          - id: build
            build: -t never:1 {context}
        """,
        {"Dockerfile": f"FROM {image}\n"},
    )
    assert error is not None, log
    assert reason in steps_by_id(job)["build"]["error"], log


def test_a_dockerfile_over_the_cap_is_refused_before_the_engine_sees_it(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - cmd: {image} sh -c "head -c 1100000 /dev/zero | tr '\\\\0' '#' > Dockerfile"
          - id: build
            build: -t never:1 .
        """,
    )
    assert error is not None, log
    assert "larger than 1048576 bytes" in steps_by_id(job)["build"]["error"], log
