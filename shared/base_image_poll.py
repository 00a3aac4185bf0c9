"""Checking base references against their registries and starting rebuilds.

One registry request per distinct base reference (per platform that tasks
build) per check, however many tasks use it. An error is never a change: a
registry that fails leaves every dependent as it was, and is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.base_images import Dependent, Rebuild, rebuilds_for
from shared.errors import DrydockError
from shared.image_ref import parse_image_ref
from shared.registry.manifests import ManifestDigest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackedBase:
    """One base reference, the tasks built from it and what its registry last said."""

    image: str
    dependents: list[Dependent]
    observed: dict[str, Any] | None


class DependencyIndex(Protocol):
    def dependents(self, image: str) -> list[Dependent]: ...
    def bases(self) -> Iterable[TrackedBase]: ...
    def observed(self, image: str) -> dict[str, Any] | None: ...
    def save_observed(self, image: str, view: dict[str, Any], now: datetime) -> None: ...
    def claim_rebuilds(self, rebuilds: Sequence[Rebuild]) -> list[bool]: ...
    def release_rebuilds(self, rebuilds: Sequence[Rebuild]) -> None: ...


class ManifestReader(Protocol):
    def manifest_digest(
        self, ref: Any, platform: str = ..., known: ManifestDigest | None = ...
    ) -> ManifestDigest: ...


class RebuildStarter(Protocol):
    def admitted(self, rebuilds: Sequence[Rebuild], kinds: Mapping[str, str]) -> list[Rebuild]:
        """The rebuilds whose task's trigger admits its base (``kinds``: task -> kind)."""
        ...

    def start(self, rebuilds: Sequence[Rebuild], chain: Sequence[str]) -> list[str | None]:
        """Start them; a run id each, None for one that could not be started."""
        ...


@dataclass
class CheckReport:
    images: int = 0
    runs: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {"checked": self.images, "runs": self.runs, "errors": self.errors}


def check_all(
    index: DependencyIndex,
    reader: ManifestReader,
    starter: RebuildStarter,
    now: datetime,
    workers: int = 32,
) -> CheckReport:
    """Every registered base, concurrently; bounded per registry by the reader.
    The index is read in one pass, so a poll costs storage a page per thousand
    rows rather than a few requests per base."""
    report = CheckReport()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        futures = {
            base.image: pool.submit(_check, base, index, reader, starter, now, ())
            for base in index.bases()
        }
    for image, future in futures.items():
        report.images += 1
        try:
            report.runs.extend(future.result())
        except DrydockError as exc:
            report.errors[image] = str(exc)
            log.warning("checking base %s failed: %s", image, exc)
    return report


def check_image(
    image: str,
    index: DependencyIndex,
    reader: ManifestReader,
    starter: RebuildStarter,
    now: datetime,
    chain: Sequence[str] = (),
) -> list[str]:
    """Check one base now; start the rebuilds it calls for. Returns run ids."""
    dependents = index.dependents(image)
    if not dependents:
        return []
    base = TrackedBase(image, dependents, index.observed(image))
    return _check(base, index, reader, starter, now, chain)


def _check(
    base: TrackedBase,
    index: DependencyIndex,
    reader: ManifestReader,
    starter: RebuildStarter,
    now: datetime,
    chain: Sequence[str],
) -> list[str]:
    if not base.dependents:
        return []
    current = _current_view(base, index, reader, now)
    kinds = {dependent.task: dependent.kind for dependent in base.dependents}
    # A chain never loops back into a task it already rebuilt.
    found = rebuilds_for(base.image, current, base.dependents)
    rebuilds = [rebuild for rebuild in found if rebuild.task not in chain]
    if not rebuilds:
        return []
    return _start_once(starter.admitted(rebuilds, kinds), index, starter, chain)


def _current_view(
    base: TrackedBase, index: DependencyIndex, reader: ManifestReader, now: datetime
) -> dict[str, str]:
    """What the registry says now, per platform the dependents build; recorded
    only when it differs from what was recorded, so a quiet poll writes nothing."""
    ref = parse_image_ref(base.image)
    known = base.observed or {}
    view = {}
    for platform in sorted({dependent.platform for dependent in base.dependents}):
        seen = known.get(platform)
        answer = reader.manifest_digest(ref, platform, ManifestDigest(**seen) if seen else None)
        view[platform] = answer
    seen_now = {**known, **{platform: vars(answer) for platform, answer in view.items()}}
    if seen_now != known:
        index.save_observed(base.image, seen_now, now)
    return {platform: answer.comparable for platform, answer in view.items()}


def _start_once(
    rebuilds: Sequence[Rebuild],
    index: DependencyIndex,
    starter: RebuildStarter,
    chain: Sequence[str],
) -> list[str]:
    """Claim each rebuild's mark, start the ones won, and give back the marks of
    those that did not start, so the next check tries them again."""
    claimed = [r for r, won in zip(rebuilds, index.claim_rebuilds(rebuilds), strict=True) if won]
    if not claimed:
        return []  # other pollers, webhooks or retries already started them
    try:
        run_ids = starter.start(claimed, chain)
    except Exception:
        index.release_rebuilds(claimed)
        raise
    index.release_rebuilds([r for r, run_id in zip(claimed, run_ids, strict=True) if not run_id])
    return [run_id for run_id in run_ids if run_id]


def comparable_digest(
    recorded: str | None, observed: dict[str, Any] | None, platform: str
) -> str | None:
    """What a build's recorded base digest is, in the terms polls compare.

    The engine records the digest the tag named when it pulled (an index for
    multi-platform bases); polls compare the platform's manifest. Translate
    when the recorded digest is the index we last observed.
    """
    seen = (observed or {}).get(platform)
    if recorded and seen and recorded == seen.get("digest"):
        return str(seen.get("platform_digest") or seen["digest"])
    return recorded
