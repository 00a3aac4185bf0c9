"""A multi-step run from its spec: read and render the task file (or ``--cmd``),
refuse it before anything runs if it is wrong, then run its steps."""

from __future__ import annotations

from builder.quick_build import BuildJob
from builder.steps.containers import RunResources
from builder.steps.executor import run_task_steps
from shared.errors import InvalidRequest
from shared.taskfile import RenderInput, Step, TaskFile, load_task_file
from shared.taskfile.docker_args import split_arguments
from shared.taskfile.render import render_text
from shared.templating import run_variables

MAX_TASK_FILE_BYTES = 1024 * 1024


def run_task(job: BuildJob, registry: str, allow_privileged: bool) -> None:
    resources = RunResources(job.engine.client, job.run.run_id)
    given = RenderInput(_variables(job, registry), job.secrets, resources.volume)
    task = _cmd_task(job, given) if job.run.spec.cmd else _file_task(job, given)
    job.log.note(f"Running {len(task.steps)} step(s) of a {task.version} task")
    run_task_steps(job, task, resources, allow_privileged)


def _variables(job: BuildJob, registry: str) -> dict[str, str]:
    run = job.run
    return run_variables(
        run_id=run.run_id,
        registry=registry,
        now=run.create_time,
        commit=run.commit or "",
        branch=run.branch or "",
        task_name=run.task or "quickrun",
        values=dict(run.spec.values),
    )


def _file_task(job: BuildJob, given: RenderInput) -> TaskFile:
    name = job.run.spec.file
    path = (job.context_dir / name).resolve()
    if not path.is_relative_to(job.context_dir.resolve()) or not path.is_file():
        raise InvalidRequest(f"task file {name!r} not found in the context")
    if path.stat().st_size > MAX_TASK_FILE_BYTES:
        raise InvalidRequest(f"task file {name!r} is larger than {MAX_TASK_FILE_BYTES} bytes")
    try:
        return load_task_file(path.read_text(encoding="utf-8"), given)
    except InvalidRequest as exc:
        raise InvalidRequest(f"{name}: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"task file {name!r} is not UTF-8 text") from None


def _cmd_task(job: BuildJob, given: RenderInput) -> TaskFile:
    """``az acr run --cmd``: one container, timed by the run."""
    command = split_arguments(render_text(job.run.spec.cmd or "", given), 1, "cmd")
    if not command:
        raise InvalidRequest("cmd must name an image, like 'busybox echo hello'")
    step = Step(id="acb_step_0", line=1, cmd=tuple(command), timeout=job.run.spec.timeout)
    return TaskFile(step_timeout=job.run.spec.timeout, steps=(step,))
