"""Task timers: every 10 seconds, start the runs of due timer occurrences.

Ten seconds is the resolution of task schedules; the claim per occurrence makes
a second host (or a late tick) harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from shared.task_timers import fire_due_timers
from shared.wiring import default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)

TASK_TIMERS_SCHEDULE = "*/10 * * * * *"


@bp.timer_trigger(arg_name="timer", schedule=TASK_TIMERS_SCHEDULE, run_on_startup=False)
def task_timers(timer: func.TimerRequest) -> None:
    adapters = default_adapters()
    started = fire_due_timers(
        adapters.tasks.list(), adapters.timer_firings, adapters.submission(), datetime.now(UTC)
    )
    if started:
        log.info("task timers started runs %s", started)
