"""Task timers: start one run per due occurrence, however many hosts evaluate them.

Each evaluation looks at the newest occurrence of each enabled timer since the
task was last written (so editing a task never fires an occurrence from before
the edit) and claims it by inserting (task, timer, occurrence): exactly one host
wins and starts the run. After downtime only the newest missed occurrence fires.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from shared.errors import Conflict, InvalidRequest
from shared.ports import TimerFiringStore
from shared.runs import Trigger
from shared.schedules import latest_occurrence
from shared.submission import RunOrigin, SubmissionServices
from shared.task_runs import start_task_run
from shared.tasks import Task, TimerTrigger

log = logging.getLogger(__name__)


def due_timers(tasks: Iterable[Task], now: datetime) -> list[tuple[Task, TimerTrigger, datetime]]:
    """Every (task, timer, occurrence) that is due at ``now``; pure."""
    due = []
    for task in tasks:
        if not task.enabled or task.update_time is None:
            continue
        for timer in task.triggers.timers:
            occurrence = (
                latest_occurrence(timer.schedule, task.update_time, now) if timer.enabled else None
            )
            if occurrence is not None:
                due.append((task, timer, occurrence))
    return due


def fire_due_timers(
    tasks: Iterable[Task],
    firings: TimerFiringStore,
    services: SubmissionServices,
    now: datetime,
) -> list[str]:
    """Start the runs of the due occurrences this host claims; their run ids."""
    started = []
    for task, timer, occurrence in due_timers(tasks, now):
        if not firings.claim(task.key, timer.name, occurrence, now):
            continue  # fired already, here or on another host
        origin = RunOrigin(trigger=Trigger.TIMER, task=task.name)
        try:
            run = start_task_run(task, origin, services, now)
        except (InvalidRequest, Conflict) as exc:
            # A permanent fault of this task: record it, keep the other timers going.
            log.error("task %s timer %s at %s: not started: %s", task.name, timer.name,
                      occurrence.isoformat(), exc)  # fmt: skip
            continue
        firings.record_run(task.key, timer.name, occurrence, run.run_id)
        started.append(run.run_id)
    return started
