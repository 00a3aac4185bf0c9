"""Task timers: which occurrence of a cron schedule is due, given a moment.

Schedules are UTC. Five fields are cron as ACR takes them (minute first); six
fields are NCRONTAB as the Functions host takes them (seconds first).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter

from shared.errors import InvalidRequest

_EXAMPLES = "e.g. '0 2 * * *' (02:00 UTC daily) or '*/30 * * * * *' (every 30 seconds)"


def check_schedule(schedule: str) -> None:
    """InvalidRequest unless ``schedule`` is a 5-field cron or a 6-field NCRONTAB."""
    fields = schedule.split()
    if len(fields) not in (5, 6):
        raise InvalidRequest(
            f"schedule {schedule!r} has {len(fields)} fields; give 5 (minute first) or "
            f"6 (seconds first); {_EXAMPLES}"
        )
    if not croniter.is_valid(schedule, second_at_beginning=len(fields) == 6):
        raise InvalidRequest(f"schedule {schedule!r} is not a valid cron expression; {_EXAMPLES}")


def latest_occurrence(schedule: str, since: datetime, now: datetime) -> datetime | None:
    """The newest occurrence in ``(since, now]``, or None.

    Only the newest: after downtime a timer catches up once, not once per missed tick.
    """
    check_schedule(schedule)
    # croniter's get_prev is strictly before its start, and an occurrence at ``now`` counts.
    start = _utc(now) + timedelta(microseconds=1)
    iterator = croniter(schedule, start, second_at_beginning=len(schedule.split()) == 6)
    occurrence: datetime = iterator.get_prev(datetime)
    return occurrence if occurrence > _utc(since) else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
