"""How runs look on a terminal: times, durations and the ``list-runs`` table (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

RUN_COLUMNS = ("RUN ID", "TASK", "PLATFORM", "STATUS", "TRIGGER", "STARTED", "DURATION")
# Drydock builds with the Linux engine it is given; the column is kept for az parity.
PLATFORM = "linux"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def elapsed_seconds(start: str | None, finish: str | None) -> int | None:
    started, finished = parse_time(start), parse_time(finish)
    if started is None or finished is None:
        return None
    return max(0, round((finished - started).total_seconds()))


def format_short_duration(seconds: int) -> str:
    """``12s``, ``2m5s``, ``1h0m3s`` — as ``az acr build`` reports a finished run."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def format_clock_duration(seconds: int | None) -> str:
    """``00:01:05`` as in ``az acr task list-runs``; empty while unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def format_started(value: str | None) -> str:
    started = parse_time(value)
    if started is None:
        return value or ""
    if started.utcoffset() is None:
        return started.strftime("%Y-%m-%dT%H:%M:%S")
    return started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_row(run: Mapping[str, Any]) -> tuple[str, ...]:
    started = run.get("startTime") or run.get("createTime")
    return (
        str(run.get("runId") or ""),
        str(run.get("task") or ""),
        PLATFORM,
        str(run.get("status") or ""),
        str(run.get("trigger") or ""),
        format_started(started),
        format_clock_duration(elapsed_seconds(run.get("startTime"), run.get("finishTime"))),
    )


def render_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns under a dashed rule, as the Azure CLI's table output."""
    rows = [tuple(row) for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def runs_table(runs: Iterable[Mapping[str, Any]]) -> str:
    return render_table(RUN_COLUMNS, (run_row(run) for run in runs))
