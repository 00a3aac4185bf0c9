from datetime import UTC, datetime, timedelta, timezone

import pytest

from devhost.ncrontab import next_occurrence, normalise, resolve_setting
from shared.errors import ConfigurationError

T0 = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 */5 * * * *", "0 */5 * * * *"),
        ("*/5 * * * *", "0 */5 * * * *"),
        ("  0  0 3 * * * ", "0 0 3 * * *"),
        ("0 30 9 * Jan-Mar Mon-Fri", "0 30 9 * Jan-Mar Mon-Fri"),
        ("5,10 0-30/10 * 1 * 0", "5,10 0-30/10 * 1 * 0"),
    ],
)
def test_normalise_gives_six_fields_seconds_first(expression, expected):
    assert normalise(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "* * * *",
        "* * * * * * *",
        "0 0 12 ? * *",
        "0 0 0 L * *",
        "0 0 0 * * 1#2",
        "H * * * *",
        "0 0 0 * * Funday",
        "0 0 0 * * 1;2",
    ],
)
def test_normalise_rejects_what_ncrontab_does_not_know(expression):
    with pytest.raises(ConfigurationError):
        normalise(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * * *", T0, T0 + timedelta(seconds=5)),
        ("*/5 * * * * *", T0 + timedelta(seconds=3), T0 + timedelta(seconds=5)),
        ("0 */5 * * * *", T0, T0 + timedelta(minutes=5)),
        ("*/5 * * * *", T0, T0 + timedelta(minutes=5)),  # five fields: minutes first
        ("0 0 3 * * *", T0, T0 + timedelta(hours=3)),
        ("30 15 10 * * *", T0, T0 + timedelta(hours=10, minutes=15, seconds=30)),
        ("0 0 0 * * Sat", T0, datetime(2024, 1, 6, tzinfo=UTC)),
        ("0 0 0 * * 0", T0, datetime(2024, 1, 7, tzinfo=UTC)),  # Sunday is 0
        ("0 0 0 1 Mar *", T0, datetime(2024, 3, 1, tzinfo=UTC)),
        # NCRONTAB ANDs day-of-month and day-of-week: the next Friday the 13th.
        ("0 0 0 13 * Fri", T0, datetime(2024, 9, 13, tzinfo=UTC)),
    ],
)
def test_next_occurrence(expression, after, expected):
    assert next_occurrence(expression, after) == expected


def test_next_occurrence_is_strictly_after():
    assert next_occurrence("0 0 * * * *", T0) == T0 + timedelta(hours=1)


def test_next_occurrence_evaluates_in_utc():
    after = datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))  # 00:00 UTC
    result = next_occurrence("0 0 3 * * *", after)
    assert result == datetime(2024, 1, 1, 3, 0, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


def test_resolve_setting_replaces_a_whole_percent_name():
    env = {"DRYDOCK_RETENTION_SCHEDULE": "0 0 3 * * *"}
    assert resolve_setting("%DRYDOCK_RETENTION_SCHEDULE%", env) == "0 0 3 * * *"
    assert resolve_setting("0 */5 * * * *", env) == "0 */5 * * * *"


def test_resolve_setting_fails_on_a_missing_setting():
    with pytest.raises(ConfigurationError, match="NOPE"):
        resolve_setting("%NOPE%", {})
