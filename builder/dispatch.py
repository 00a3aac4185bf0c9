"""Which executor runs a spec: a Dockerfile quick build, or multi-step steps."""

from __future__ import annotations

from builder.quick_build import BuildJob, build_and_push
from shared.errors import BuildFailed


def execute_spec(job: BuildJob) -> None:
    if job.run.spec.is_multi_step:
        raise BuildFailed("multi-step task files are not supported by this builder yet")
    build_and_push(job)
