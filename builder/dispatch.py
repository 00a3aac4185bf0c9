"""Which executor runs a spec: a Dockerfile quick build, or multi-step steps."""

from __future__ import annotations

from builder.quick_build import BuildJob, build_and_push
from builder.steps.task_run import run_task
from shared.settings import Settings


def execute_spec(job: BuildJob) -> None:
    if job.run.spec.is_multi_step:
        # Read here because BuildJob carries no settings yet; the builder's
        # environment is the one its worker validated at start.
        settings = Settings.from_env()
        run_task(job, settings.registry, settings.allow_privileged)
        return
    build_and_push(job)
