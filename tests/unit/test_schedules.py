from datetime import UTC, datetime

import pytest

from shared.errors import InvalidRequest
from shared.schedules import check_schedule, latest_occurrence


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "since", "now", "expected"),
    [
        # 5 fields: minute first, like ACR.
        ("0 2 * * *", "2024-05-01T00:00", "2024-05-01T02:00", "2024-05-01T02:00"),
        ("0 2 * * *", "2024-05-01T00:00", "2024-05-01T01:59:59", None),
        ("*/15 * * * *", "2024-05-01T10:00", "2024-05-01T10:20", "2024-05-01T10:15"),
        ("0 9 * * MON-FRI", "2024-05-03T10:00", "2024-05-06T09:00:05", "2024-05-06T09:00"),
        # 6 fields: seconds first, like NCRONTAB.
        ("*/10 * * * * *", "2024-05-01T10:00", "2024-05-01T10:00:25", "2024-05-01T10:00:20"),
        ("30 0 3 * * *", "2024-05-01T00:00", "2024-05-01T03:00:31", "2024-05-01T03:00:30"),
        # Only after ``since``: an occurrence at or before it is not due.
        ("0 * * * *", "2024-05-01T10:00", "2024-05-01T10:30", None),
        ("0 * * * *", "2024-05-01T10:05", "2024-05-01T10:59", None),
    ],
)
def test_latest_occurrence(schedule, since, now, expected):
    result = latest_occurrence(schedule, at(since), at(now))
    assert result == (at(expected) if expected else None)


def test_after_downtime_only_the_newest_missed_occurrence_is_due():
    # Down from 10:00 to 15:30 with an hourly schedule: one occurrence, 15:00.
    assert latest_occurrence("0 * * * *", at("2024-05-01T09:30"), at("2024-05-01T15:30")) == at(
        "2024-05-01T15:00"
    )


@pytest.mark.parametrize(
    "schedule", ["", "* * * *", "* * * * * * *", "61 * * * *", "0 25 * * *", "every hour"]
)
def test_invalid_schedules_are_refused(schedule):
    with pytest.raises(InvalidRequest):
        check_schedule(schedule)
