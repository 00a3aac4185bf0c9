"""Which bases of a ``build`` step come from the registry, and which from the run.

ACR lets a step build ``FROM`` an image an earlier step of the same run built
and never pushed. Such a base exists only on the builder's engine: the build
must not pull it (the registry has none, or an older one), and it is no
external dependency of the run (a base-image update cannot reach it; the step
that built it records its own bases).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from shared.dockerfile_deps import DockerfileDeps
from shared.errors import InvalidRequest
from shared.image_ref import normalise_image_ref
from shared.taskfile.model import DockerBuild


@dataclass(frozen=True)
class BuildBases:
    """A build step's bases, split by where they come from."""

    runtime: str | None
    """The external runtime base; None for ``scratch`` or a base built in this run."""
    buildtime: tuple[str, ...]
    """External build-time bases."""
    from_run: tuple[str, ...]
    """Bases an earlier step of this run built, as the Dockerfile names them."""

    @property
    def external(self) -> tuple[str, ...]:
        return ((self.runtime,) if self.runtime else ()) + self.buildtime


def split_bases(deps: DockerfileDeps, built_in_run: Collection[str]) -> BuildBases:
    """Split ``deps`` by whether a base is one of ``built_in_run`` (tags, as written)."""
    built = {_comparable(tag) for tag in built_in_run}

    def from_run(image: str) -> bool:
        return _comparable(image) in built

    runtime = deps.runtime if deps.runtime and not from_run(deps.runtime) else None
    local = tuple(image for image in (deps.runtime, *deps.buildtime) if image and from_run(image))
    external = tuple(image for image in deps.buildtime if not from_run(image))
    return BuildBases(runtime=runtime, buildtime=external, from_run=local)


def pulls_bases(build: DockerBuild, bases: BuildBases) -> bool:
    """Whether the engine pulls every base while building: yes (a build uses each
    base as the registry has it now), unless a base exists only in this run.
    ``--pull`` forces it, as with ``docker build``."""
    return build.pull or not bases.from_run


def _comparable(image: str) -> str:
    """``team/app`` and ``docker.io/team/app:latest`` are one image."""
    try:
        return normalise_image_ref(image)
    except InvalidRequest:
        return image
