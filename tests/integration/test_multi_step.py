"""Multi-step runs against the real engine, registry and Azurite."""

from __future__ import annotations

import io
import textwrap
from datetime import UTC, datetime

import pytest

from builder.dispatch import execute_spec
from builder.quick_build import BuildJob
from builder.run_log import RunLog
from builder.steps.errors import StepTimedOut
from shared.errors import BuildFailed, InvalidRequest
from shared.taskfile.run_requests import RunRequest, submit_task_run
from tests.support.archives import make_tar

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("registry_setting")]


def run_steps(ctx, tmp_path, task_yaml: str, files: dict[str, str] | None = None):
    """Queue a run as POST /api/runs does, then run its steps as the builder does;
    returns the job (steps, images, dependencies), the error raised, and the log."""
    archive = make_tar({"acr-task.yaml": textwrap.dedent(task_yaml), **(files or {})})
    request = RunRequest(context=None, file="acr-task.yaml")
    services = ctx.adapters.submission()
    run = submit_task_run(request, services, datetime.now(UTC), io.BytesIO(archive))
    context = tmp_path / f"ctx-{run.run_id}"
    context.mkdir()
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(context, filter="data")
    log = RunLog(ctx.adapters.logs, run.run_id, [])
    log.open()
    job = BuildJob(run, context, {}, log, ctx.engine, lambda: False)
    error = None
    try:
        execute_spec(job)
    except BuildFailed as exc:
        error = exc
    log.close()
    return job, error, ctx.adapters.logs.read(run.run_id, 0).decode()


def steps_by_id(job):
    return {step["id"]: step for step in job.steps}


def test_parallel_steps_overlap_and_when_orders(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - id: a
            cmd: {image} sleep 2
          - id: b
            cmd: {image} sleep 2
            when: ["-"]
          - id: c
            cmd: {image} echo after-both
            when: [a, b]
        """,
    )
    assert error is None, log
    steps = steps_by_id(job)
    assert all(step["status"] == "Succeeded" for step in steps.values())
    a, b, c = steps["a"], steps["b"], steps["c"]
    assert a["startTime"] < b["finishTime"] and b["startTime"] < a["finishTime"]
    assert c["startTime"] >= max(a["finishTime"], b["finishTime"])
    assert "after-both" in log


def test_detached_server_reached_by_id_and_workspace_shared(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - id: web
            cmd: {image} httpd -f -p 8080 -h /workspace
            detach: true
          - id: fetch
            cmd: {image} sh -c "sleep 1; wget -q -O - http://web:8080/hello.txt"
            retries: 3
            retryDelay: 1
        """,
        {"hello.txt": "from-the-workspace\n"},
    )
    assert error is None, log
    assert "from-the-workspace" in log
    assert steps_by_id(job)["fetch"]["status"] == "Succeeded"


def test_build_then_cmd_uses_the_local_image_push_records_digest_and_deps(
    ctx, base, tmp_path, registry_host, unique_name
):
    image, base_digest = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        """\
        version: v1.1.0
        steps:
          - build: -t $Registry/hello-world:$ID --build-arg BASE={{.Values.base}} .
          - cmd: $Registry/hello-world:$ID
          - push:
            - $Registry/hello-world:$ID
        """.replace("{{.Values.base}}", image),
        {"Dockerfile": 'ARG BASE\nFROM $BASE\nCMD ["echo", "hello from the build"]\n'},
    )
    assert error is None, log
    assert "hello from the build" in log
    assert f"Pulling {registry_host}/hello-world" not in log  # used locally
    (pushed,) = job.images
    assert pushed.registry == registry_host and pushed.digest.startswith("sha256:")
    assert job.dependencies.runtime.image == image
    assert job.dependencies.runtime.digest == base_digest


def test_retries_ignore_errors_and_failure_skips_dependents(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx,
        tmp_path,
        f"""\
        steps:
          - id: flaky
            cmd: {image} sh -c "test -f /workspace/once || (touch /workspace/once; exit 3)"
            retries: 1
          - id: ignored
            cmd: {image} false
            ignoreErrors: true
          - id: broken
            cmd: {image} false
          - id: never
            cmd: {image} echo never
        """,
    )
    steps = steps_by_id(job)
    assert steps["flaky"]["status"] == "Succeeded", log
    assert steps["ignored"]["status"] == "Failed" and steps["ignored"]["ignoredError"]
    assert steps["broken"]["status"] == "Failed"
    assert steps["never"]["status"] == "Skipped"
    assert isinstance(error, BuildFailed) and "broken" in str(error)


def test_a_step_past_its_timeout_times_the_run_out(ctx, base, tmp_path):
    image, _ = base
    job, error, log = run_steps(
        ctx, tmp_path, f"steps:\n  - id: slow\n    cmd: {image} sleep 30\n    timeout: 2\n"
    )
    assert isinstance(error, StepTimedOut), log
    assert steps_by_id(job)["slow"]["status"] == "Timeout"


def test_a_bad_task_file_fails_before_anything_runs(ctx, tmp_path):
    with pytest.raises(InvalidRequest, match="line 4: unknown step property 'colour'"):
        run_steps(ctx, tmp_path, "steps:\n  - cmd: x\n  - cmd: y\n    colour: red\n")


def test_the_acr_build_run_push_sample_runs_unchanged_through_the_lifecycle(
    ctx, base, registry_host
):
    """ACR's build-run-push sample; only the Dockerfile's base is a local image."""
    from builder.run_lifecycle import execute_run
    from shared.runs import RunStatus

    image, _ = base
    sample = textwrap.dedent("""\
        version: v1.1.0
        steps:
          - build: -t $Registry/hello-world:$ID .
          - cmd: $Registry/hello-world:$ID
          - push:
            - $Registry/hello-world:$ID
        """)
    archive = make_tar(
        {"acr-task.yaml": sample, "Dockerfile": f'FROM {image}\nCMD ["echo", "Hello World"]\n'}
    )
    request = RunRequest(context=None, file="acr-task.yaml")
    run = submit_task_run(
        request, ctx.adapters.submission(), datetime.now(UTC), io.BytesIO(archive)
    )
    (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
    execute_run(run.run_id, delivery.dequeue_count, ctx)
    ctx.adapters.build_queue.delete(delivery)
    final, _ = ctx.adapters.runs.get(run.run_id)
    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert final.status is RunStatus.SUCCEEDED, log
    assert "Hello World" in log
    assert f"{registry_host}/hello-world:{run.run_id}@sha256:" in log
