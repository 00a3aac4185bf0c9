"""The ``when`` graph: which steps each step waits for, and refusing cycles.

As ACR: no ``when`` waits for the step before; ``["-"]`` starts at once; ids
wait for those steps, wherever they are in the file.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.errors import InvalidRequest
from shared.taskfile.model import AT_ONCE, Step


def resolve_when(
    ids: Sequence[str], lines: Sequence[int], whens: Sequence[tuple[str, ...] | None]
) -> list[tuple[str, ...]]:
    """Each step's dependencies by id; refuses unknown ids and self-references."""
    known = set(ids)
    resolved: list[tuple[str, ...]] = []
    for index, (step_id, line, when) in enumerate(zip(ids, lines, whens, strict=True)):
        if when is None:
            resolved.append((ids[index - 1],) if index else ())
            continue
        if AT_ONCE in when:
            if len(when) > 1:
                raise InvalidRequest(f"line {line}: when '-' cannot be combined with step ids")
            resolved.append(())
            continue
        for dependency in when:
            if dependency == step_id:
                raise InvalidRequest(f"line {line}: step {step_id!r} waits for itself")
            if dependency not in known:
                raise InvalidRequest(
                    f"line {line}: step {step_id!r} waits for unknown {dependency!r}"
                )
        resolved.append(tuple(dict.fromkeys(when)))
    return resolved


def check_acyclic(steps: Sequence[Step]) -> None:
    """Depth-first search; the first step found on a cycle names it."""
    by_id = {step.id: step for step in steps}
    done: set[str] = set()
    path: list[str] = []

    def visit(step: Step) -> None:
        if step.id in done:
            return
        if step.id in path:
            cycle = " -> ".join([*path[path.index(step.id) :], step.id])
            raise InvalidRequest(f"line {step.line}: the steps wait for each other: {cycle}")
        path.append(step.id)
        for dependency in step.when:
            visit(by_id[dependency])
        path.pop()
        done.add(step.id)

    for step in steps:
        visit(step)


def dependents_of(steps: Sequence[Step], step_id: str) -> set[str]:
    """Every step that waits, directly or not, for ``step_id``."""
    found: set[str] = set()
    frontier = {step_id}
    while frontier:
        frontier = {s.id for s in steps if set(s.when) & frontier and s.id not in found}
        found |= frontier
    return found
