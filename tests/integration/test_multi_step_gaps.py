"""Multi-step runs as ACR runs them: a build FROM an image an earlier step built
(never pushed), ``--no-cache`` and ``--pull`` honoured, ``totalTimeout``, and
secret ``volumes`` mounted into ``cmd`` steps."""

from __future__ import annotations

import base64
import io
import textwrap
from datetime import UTC, datetime

import pytest

from builder.run_lifecycle import execute_run
from builder.steps.errors import TaskTimedOut
from shared.runs import RunStatus
from shared.taskfile.run_requests import RunRequest, submit_task_run
from tests.integration.test_multi_step import run_steps, steps_by_id
from tests.support.archives import make_tar

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry_setting")]


def step_log(log: str, step_id: str) -> str:
    """The part of the run log between the start of ``step_id`` and its status."""
    start = log.index(f"Executing step ID: {step_id}.")
    return log[start : log.index(f"Step ID: {step_id} marked as", start)]


def test_a_build_from_an_image_an_earlier_step_built_uses_it_locally(
    ctx, base, tmp_path, registry_host, unique_name, built_images
):
    image, base_digest = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        version: v1.1.0
        steps:
          - id: base
            build: -t $Registry/{unique_name}/base:$ID -f base.Dockerfile .
          - id: app
            build: -t $Registry/{unique_name}/app:$ID --build-arg BASE=$Registry/{unique_name}/base:$ID .
          - id: show
            cmd: $Registry/{unique_name}/app:$ID
        """,  # noqa: E501 - a task file line as users write it
        {
            "base.Dockerfile": f"FROM {image}\nRUN echo made-in-step-one > /etc/step-one\n",
            "Dockerfile": 'ARG BASE\nFROM $BASE\nCMD ["cat", "/etc/step-one"]\n',
        },
    )
    run_id = job.run.run_id
    local_base = f"{registry_host}/{unique_name}/base:{run_id}"
    built_images.extend([local_base, f"{registry_host}/{unique_name}/app:{run_id}"])
    assert error is None, log
    assert all(step["status"] == "Succeeded" for step in job.steps), log
    assert "made-in-step-one" in step_log(log, "show")
    assert f"Using {local_base} as built by an earlier step" in step_log(log, "app")
    # The run's bases are the external ones; the base this run built is none of them.
    assert job.dependencies.runtime.image == image
    assert job.dependencies.runtime.digest == base_digest
    assert job.dependencies.buildtime == ()


def test_an_external_base_next_to_a_run_built_one_is_still_pulled_and_recorded(
    ctx, base, tmp_path, registry_host, unique_name, built_images
):
    """A Dockerfile on a run-built base that copies from a registry image: the
    engine may not pull, so the step pulls the registry image itself."""
    image, base_digest = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        version: v1.1.0
        steps:
          - id: base
            build: -t $Registry/{unique_name}/base:$ID -f base.Dockerfile .
          - id: app
            build: -t $Registry/{unique_name}/app:$ID --build-arg BASE=$Registry/{unique_name}/base:$ID .
        """,  # noqa: E501 - a task file line as users write it
        {
            "base.Dockerfile": f"FROM {image}\nRUN echo one > /etc/step-one\n",
            "Dockerfile": f"ARG BASE\nFROM $BASE\nCOPY --from={image} /etc/base-version /v\n",
        },
    )
    run_id = job.run.run_id
    built_images.extend(
        [
            f"{registry_host}/{unique_name}/base:{run_id}",
            f"{registry_host}/{unique_name}/app:{run_id}",
        ]
    )
    assert error is None, log
    assert f"Pulling {image}" in step_log(log, "app")
    assert job.dependencies.runtime.image == image
    assert [use.image for use in job.dependencies.buildtime] == []  # the same image, once
    assert job.dependencies.runtime.digest == base_digest


def test_pull_forces_a_pull_even_of_a_base_the_run_built(
    ctx, base, tmp_path, registry_host, unique_name, built_images
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        version: v1.1.0
        steps:
          - id: base
            build: -t $Registry/{unique_name}/base:$ID -f base.Dockerfile .
          - id: app
            build: -t $Registry/{unique_name}/app:$ID --pull --build-arg BASE=$Registry/{unique_name}/base:$ID .
        """,  # noqa: E501 - a task file line as users write it
        {
            "base.Dockerfile": f"FROM {image}\n",
            "Dockerfile": "ARG BASE\nFROM $BASE\n",
        },
    )
    built_images.append(f"{registry_host}/{unique_name}/base:{job.run.run_id}")
    assert error is not None, log  # the registry has no such base: --pull was honoured
    assert steps_by_id(job)["app"]["status"] == "Failed"


def test_no_cache_rebuilds_every_layer(
    ctx, base, tmp_path, registry_host, unique_name, built_images
):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        version: v1.1.0
        steps:
          - id: first
            build: -t $Registry/{unique_name}/app:one .
          - id: cached
            build: -t $Registry/{unique_name}/app:two .
          - id: uncached
            build: -t $Registry/{unique_name}/app:three --no-cache .
        """,
        {"Dockerfile": f"FROM {image}\nRUN echo layer > /layer\n"},
    )
    built_images.extend(
        f"{registry_host}/{unique_name}/app:{tag}" for tag in ("one", "two", "three")
    )
    assert error is None, log
    assert "Using cache" in step_log(log, "cached")
    assert "Using cache" not in step_log(log, "uncached")


def test_total_timeout_stops_the_run_and_ends_it_timeout(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        totalTimeout: 3
        steps:
          - id: slow
            cmd: {image} sleep 60
          - id: never
            cmd: {image} echo never
        """,
    )
    assert isinstance(error, TaskTimedOut), log
    assert "totalTimeout of 3s" in str(error)
    steps = steps_by_id(job)
    assert steps["slow"]["status"] == "Canceled"
    assert steps["never"]["status"] == "Skipped"


def test_total_timeout_ends_the_recorded_run_timeout(ctx, base):
    image, _ = base
    task = f"totalTimeout: 2\nsteps:\n  - cmd: {image} sleep 60\n"
    archive = make_tar({"acr-task.yaml": textwrap.dedent(task)})
    request = RunRequest(context=None, file="acr-task.yaml")
    run = submit_task_run(
        request, ctx.adapters.submission(), datetime.now(UTC), io.BytesIO(archive)
    )
    (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
    execute_run(run.run_id, delivery.dequeue_count, ctx)
    ctx.adapters.build_queue.delete(delivery)
    final, _ = ctx.adapters.runs.get(run.run_id)
    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert final.status is RunStatus.TIMEOUT, log
    assert "totalTimeout of 2s" in (final.error or "")
    assert (final.finish_time - final.start_time).total_seconds() < 30


def test_secret_volumes_are_mounted_read_only_and_removed_with_the_run(
    ctx, base, tmp_path, docker_client
):
    image, _ = base
    token = base64.b64encode(b"the-token-value\n").decode()
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        volumes:
          - name: creds
            secret:
              token: {token}
        steps:
          - id: read
            user: "1000"
            cmd: >-
              {image} sh -c "echo size=$(wc -c < /run/creds/token); cat /run/creds/token;
              touch /run/creds/x || echo read-only"
            volumeMounts:
              - name: creds
                mountPath: /run/creds
          - id: unmounted
            cmd: {image} sh -c "test -e /run/creds || echo no-creds-here"
        """,
    )
    assert error is None, log
    assert "size=16" in step_log(log, "read")  # the step read the secret file...
    assert "the-token-value" not in log  # ...and what it printed of it is masked
    assert "read-only" in step_log(log, "read")
    assert "no-creds-here" in step_log(log, "unmounted")
    run_id = job.run.run_id
    assert not [v.name for v in docker_client.volumes.list() if run_id in v.name]
