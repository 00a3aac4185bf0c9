"""Base-image updates meet tasks: who may be rebuilt, starting the rebuild, and
keeping the dependency index in step with what builds actually used.

The index learns a task's bases twice: when the task is saved (its Dockerfile
parsed by a builder, so a base update is caught before the first run — ACR
needs a first run) and after every successful run (the digests it used).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.base_image_poll import DependencyIndex, ManifestReader, check_image, comparable_digest
from shared.base_images import BUILDTIME, RUNTIME, Dependent, Rebuild, trigger_admits
from shared.errors import DrydockError, NotFound
from shared.image_ref import normalise_image_ref, parse_image_ref
from shared.runs import Run, RunStatus, Trigger
from shared.submission import RunOrigin, SubmissionServices
from shared.task_runs import start_task_runs
from shared.tasks import Task

log = logging.getLogger(__name__)


class TaskLookup(Protocol):
    def get(self, name: str) -> tuple[Task, str]: ...
    def list(self) -> Iterable[Task]: ...


class IndexWithUses(DependencyIndex, Protocol):
    def register(self, dependent: Dependent) -> None: ...
    def unregister(self, task: str, image: str) -> None: ...
    def uses_of(self, task: str) -> list[Dependent]: ...


LIST_ABOVE = 100
"""Dependents beyond which one listing of every task beats a read per task."""
READ_WORKERS = 16


@dataclass(frozen=True)
class TaskRebuildStarter:
    """Starts ``BaseImageUpdate`` runs of tasks whose trigger admits the base.

    One starter serves one check: the tasks read to admit rebuilds are the ones
    started, so a large fan-out reads each task once (or lists them all once).
    """

    tasks: TaskLookup
    submission: SubmissionServices
    now: datetime
    _seen: dict[str, Task] = field(default_factory=dict, compare=False, repr=False)

    def admitted(self, rebuilds: Sequence[Rebuild], kinds: Mapping[str, str]) -> list[Rebuild]:
        found = self._read({rebuild.task for rebuild in rebuilds})
        return [r for r in rebuilds if r.task in found and _admits(found[r.task], kinds[r.task])]

    def start(self, rebuilds: Sequence[Rebuild], chain: Sequence[str]) -> list[str | None]:
        starts = [self._start_of(rebuild, chain) for rebuild in rebuilds]
        runs = start_task_runs(starts, self.submission, self.now)
        for rebuild, run in zip(rebuilds, runs, strict=True):
            if run:
                log.info("base %s moved to %s: run %s of task %s", rebuild.image,
                         rebuild.to_digest[:19], run.run_id, rebuild.task)  # fmt: skip
        return [run.run_id if run else None for run in runs]

    def _start_of(self, rebuild: Rebuild, chain: Sequence[str]) -> tuple[Task, RunOrigin]:
        task = self._seen.get(rebuild.task) or self.tasks.get(rebuild.task)[0]
        update = {**rebuild.update(), "chain": ",".join([*chain, task.name])}
        origin = RunOrigin(trigger=Trigger.BASE_IMAGE_UPDATE, task=task.name,
                           base_image_update=update)  # fmt: skip
        return task, origin

    def _read(self, names: set[str]) -> dict[str, Task]:
        """The named tasks that still exist, by (lower-case) name."""
        found: dict[str, Task | None]
        if len(names) > LIST_ABOVE:
            listed = {task.name.lower(): task for task in self.tasks.list()}
            found = {name: listed.get(name) for name in names}
        else:
            with ThreadPoolExecutor(READ_WORKERS, thread_name_prefix="task-read") as pool:
                found = dict(zip(names, pool.map(self._get, names), strict=True))
        existing = {name: task for name, task in found.items() if task}
        self._seen.update(existing)
        return existing

    def _get(self, name: str) -> Task | None:
        try:
            return self.tasks.get(name)[0]
        except NotFound:
            return None


def _admits(task: Task, kind: str) -> bool:
    triggers = task.triggers
    return (task.enabled and triggers.base_image_enabled
            and trigger_admits(triggers.base_image_type.value, kind))  # fmt: skip


def record_run_dependencies(
    run: Run, index: IndexWithUses, reader: ManifestReader, now: datetime
) -> list[Dependent]:
    """After a task's successful run: the bases it used, with the digests it used."""
    if not run.task or run.status is not RunStatus.SUCCEEDED:
        return []
    platform = run.spec.platform or "linux/amd64"
    uses = [(run.dependencies.runtime, RUNTIME)] if run.dependencies.runtime else []
    uses += [(use, BUILDTIME) for use in run.dependencies.buildtime]
    current = []
    for use, kind in uses:
        observed = index.observed(use.image) or _observe(use.image, platform, index, reader, now)
        built_with = comparable_digest(use.digest, observed, platform)
        current.append(Dependent(run.task.lower(), use.image, kind, built_with, platform))
    _replace_uses(run.task.lower(), current, index)
    return current


def register_discovered(
    task: str,
    images: list[tuple[str, str]],
    platform: str,
    index: IndexWithUses,
    reader: ManifestReader,
    now: datetime,
) -> None:
    """Bases found in a saved task's Dockerfile (image, kind). A base a run already
    recorded keeps its built-with digest; a new one is tracked from now on, so an
    update before the first run still rebuilds the task."""
    known = {use.image for use in index.uses_of(task)}
    for image, kind in images:
        image = normalise_image_ref(image)
        if image in known:
            continue
        observed = _observe(image, platform, index, reader, now)
        seen = (observed or {}).get(platform) or {}
        built_with = seen.get("platform_digest") or seen.get("digest")
        index.register(Dependent(task, image, kind, built_with, platform))


def chained_checks(
    run: Run, index: IndexWithUses, reader: ManifestReader, starter: TaskRebuildStarter
) -> list[str]:
    """A run that pushed an image other tasks build FROM rebuilds them; the chain
    of tasks rebuilt so far travels along, so a cycle never loops."""
    if run.status is not RunStatus.SUCCEEDED:
        return []
    chain = _chain_of(run)
    started: list[str] = []
    for image in run.images:
        if not image.digest:
            continue
        reference = normalise_image_ref(image.reference)
        try:
            started += check_image(reference, index, reader, starter, starter.now, chain)
        except DrydockError as exc:
            log.warning("chained check of %s after run %s failed: %s", reference, run.run_id, exc)
    return started


def _chain_of(run: Run) -> list[str]:
    chain = (run.base_image_update or {}).get("chain", "")
    names = [name for name in str(chain).split(",") if name]
    return names or ([run.task.lower()] if run.task else [])


def _observe(
    image: str, platform: str, index: DependencyIndex, reader: ManifestReader, now: datetime
) -> dict[str, Any] | None:
    """What the registry says now; None (and nothing saved) when it cannot say."""
    try:
        answer = reader.manifest_digest(parse_image_ref(image), platform, None)
    except DrydockError as exc:
        log.warning("could not look up base %s: %s", image, exc)
        return None
    view = {**(index.observed(image) or {}), platform: vars(answer)}
    index.save_observed(image, view, now)
    return view


def _replace_uses(task: str, current: list[Dependent], index: IndexWithUses) -> None:
    for dependent in current:
        index.register(dependent)
    images = {dependent.image for dependent in current}
    for old in index.uses_of(task):
        if old.image not in images:
            index.unregister(task, old.image)


def follow_up_finished_run(
    run: Run, index: IndexWithUses, reader: ManifestReader, starter: TaskRebuildStarter
) -> list[str]:
    """What the run-events function does for a finished run: index the bases a
    task's run used, then rebuild the tasks built FROM what it pushed."""
    record_run_dependencies(run, index, reader, starter.now)
    return chained_checks(run, index, reader, starter)


def discovery_message(task: str) -> dict[str, str]:
    """The ``build-requests`` message asking a builder to parse a task's Dockerfile."""
    return {"type": "DiscoverDependencies", "task": task}


def base_image_status(task: str, index: IndexWithUses) -> list[dict[str, Any]]:
    """A task's bases for ``GET /api/tasks/{name}``: built with, current, stale."""
    status = []
    for use in index.uses_of(task):
        seen = (index.observed(use.image) or {}).get(use.platform) or {}
        current = seen.get("platform_digest") or seen.get("digest")
        status.append({
            "image": use.image, "kind": use.kind, "platform": use.platform,
            "builtWith": use.built_with, "current": current,
            "stale": bool(use.built_with and current and use.built_with != current),
        })  # fmt: skip
    return status
