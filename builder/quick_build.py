"""One quick build: context in, image built, pushed, recorded.

The steps are plain functions over a ``BuildJob`` so each reads top to bottom;
``execute_run`` owns the run's state (builder/run_lifecycle.py maps outcomes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.engine import DockerEngine
from builder.paths import path_inside
from builder.run_log import RunLog
from shared.dockerfile_deps import DockerfileDeps, discover_base_images
from shared.errors import BuildFailed
from shared.image_ref import normalise_image_ref
from shared.runs import BaseImageUse, Dependencies, ImageOutput, Run


@dataclass
class BuildJob:
    run: Run
    context_dir: Path
    secrets: dict[str, str]
    log: RunLog
    engine: DockerEngine
    should_stop: Callable[[], bool]
    dependencies: Dependencies = field(default_factory=Dependencies)
    images: tuple[ImageOutput, ...] = ()
    steps: tuple[dict[str, Any], ...] = ()
    """Multi-step runs: each step's ``id``, ``status``, ``startTime``, ``finishTime``…"""


def build_and_push(job: BuildJob) -> None:
    """Fills ``job.dependencies`` and ``job.images``; raises BuildFailed."""
    spec = job.run.spec
    deps = discover_base_images(_dockerfile_text(job), _build_args(job), spec.target)
    job.log.note(f"Building with {spec.file}" + (f" (target {spec.target})" if spec.target else ""))
    started = time.monotonic()
    job.engine.build(
        context_dir=job.context_dir,
        dockerfile=spec.file,
        tags=[image.reference for image in job.run.images],
        build_args=_build_args(job),
        target=spec.target,
        platform=spec.platform,
        on_output=job.log.line,
        should_stop=job.should_stop,
    )
    job.log.note(f"Build finished in {time.monotonic() - started:.1f}s")
    job.dependencies = _used_dependencies(job.engine, deps)
    job.images = job.run.images if spec.no_push else tuple(_push(job, i) for i in job.run.images)


def _dockerfile_text(job: BuildJob) -> str:
    path = path_inside(job.context_dir, job.run.spec.file)
    if path is None or not path.is_file():
        raise BuildFailed(f"Dockerfile {job.run.spec.file!r} not found in the context")
    return path.read_text(encoding="utf-8", errors="replace")


def _build_args(job: BuildJob) -> dict[str, str]:
    return {**dict(job.run.spec.build_args), **job.secrets}


def _used_dependencies(engine: DockerEngine, deps: DockerfileDeps) -> Dependencies:
    """Each base as the build actually used it: the digest of the pulled image."""

    def use(image: str) -> BaseImageUse:
        return BaseImageUse(
            image=normalise_image_ref(image), digest=engine.base_image_digest(image)
        )

    return Dependencies(
        runtime=use(deps.runtime) if deps.runtime else None,
        buildtime=tuple(use(image) for image in deps.buildtime),
    )


def _push(job: BuildJob, image: ImageOutput) -> ImageOutput:
    job.log.note(f"Pushing {image.reference}")
    pushed = job.engine.push(image.reference, on_output=job.log.line, should_stop=job.should_stop)
    job.log.note(f"Successfully pushed image: {image.reference}@{pushed.digest}")
    return ImageOutput(image.registry, image.repository, image.tag, pushed.digest)
