"""NCRONTAB schedules as the Functions host reads them, reduced to croniter's terms.

Pure: no clock, no environment. The host passes ``now`` and the settings in.

NCRONTAB has six fields with seconds *first* (``0 */5 * * * *`` is every five
minutes); the five-field form is classic cron and means second 0. A ``%Name%``
expression is replaced by the app setting of that name before parsing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from croniter import croniter

from shared.errors import ConfigurationError

_SETTING = re.compile(r"^%([^%]+)%$")
_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = frozenset(_MONTHS + _WEEKDAYS)


def resolve_setting(expression: str, environ: Mapping[str, str]) -> str:
    """Replace a whole-expression ``%Name%`` by that setting, as the host does."""
    match = _SETTING.match(expression.strip())
    if not match:
        return expression
    name = match.group(1)
    value = environ.get(name)
    if not value:
        raise ConfigurationError(f"schedule setting {name!r} is not set")
    return value


def normalise(expression: str) -> str:
    """The six-field, seconds-first form of an NCRONTAB expression.

    Raises ConfigurationError for anything the real host would reject: another
    field count, or cron extensions NCRONTAB lacks (``?``, ``L``, ``W``, ``#``, ``H``).
    """
    fields = expression.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ConfigurationError(
            f"NCRONTAB {expression!r} needs 6 fields (second minute hour day month weekday) or 5"
        )
    for field in fields:
        _check_field(expression, field)
    return " ".join(fields)


def _check_field(expression: str, field: str) -> None:
    words = re.findall(r"[A-Za-z]+", field)
    if not _FIELD.match(field) or any(word.lower() not in _NAMES for word in words):
        raise ConfigurationError(f"NCRONTAB {expression!r}: field {field!r} is not valid")


def next_occurrence(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` (aware) that matches, in UTC."""
    normalised = normalise(expression)
    start = after.astimezone(UTC)
    try:
        # NCRONTAB requires day-of-month AND day-of-week to match, unlike Vixie
        # cron's OR; day_or=False gives the NCRONTAB meaning.
        schedule = croniter(normalised, start, day_or=False, second_at_beginning=True)
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(f"NCRONTAB {expression!r}: {exc}") from exc
    return schedule.get_next(datetime).astimezone(UTC)
