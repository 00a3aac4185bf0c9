"""Base-image updates: which dependents a moved tag rebuilds. Pure.

A dependent is a task that built FROM (or COPY --from) a base; it records the
digest it last built with. A base "moved" for a dependent when the digest the
registry reports now (for the dependent's platform) differs from that one.
Exactly-once is not decided here: callers mark (task, base, digest) with an
insert-if-absent before starting a run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from shared.tasks import BaseImageTriggerType

RUNTIME = "runtime"
BUILDTIME = "buildtime"


@dataclass(frozen=True)
class Dependent:
    task: str
    image: str  # normalised base reference, e.g. docker.io/library/alpine:3
    kind: str  # RUNTIME or BUILDTIME
    built_with: str | None  # comparable digest the task last built with; None: never built
    platform: str = "linux/amd64"


@dataclass(frozen=True)
class Rebuild:
    task: str
    image: str
    from_digest: str
    to_digest: str

    def update(self) -> dict[str, str]:
        """The run's ``baseImageUpdate`` (contract names)."""
        return {"image": self.image, "fromDigest": self.from_digest, "toDigest": self.to_digest}


def trigger_admits(trigger_type: str, kind: str) -> bool:
    """``Runtime`` tasks follow their runtime base only; ``All`` every base."""
    return kind == RUNTIME or trigger_type == BaseImageTriggerType.ALL


def rebuilds_for(
    image: str, current: dict[str, str], dependents: Iterable[Dependent]
) -> list[Rebuild]:
    """Dependents of ``image`` whose built-with digest differs from the current one
    for their platform (``current``: platform -> comparable digest)."""
    found = []
    for dependent in dependents:
        now = current.get(dependent.platform)
        if dependent.built_with is None or now is None or now == dependent.built_with:
            continue
        found.append(Rebuild(dependent.task, image, dependent.built_with, now))
    return found


def trigger_mark(rebuild: Rebuild) -> tuple[str, str]:
    """The key naming one (task, base, new digest), the unit of exactly-once, as
    (group, task): one group per (base, new digest), so that a fan-out's marks
    share a table partition and are claimed a hundred at a time."""
    update = hashlib.sha256(f"{rebuild.image}\n{rebuild.to_digest}".encode()).hexdigest()
    return update[:32], rebuild.task
