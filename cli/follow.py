"""Wait for a queued run, show its log, and turn its outcome into a message and exit code.

Shared by every command that starts a run (``build`` now, ``run`` and
``task run`` later), so they report the same way ``az acr`` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import click

from cli.api import ApiError, DrydockClient
from cli.formatting import elapsed_seconds, format_short_duration
from cli.logs import TERMINAL_STATUSES, stream_log

EXIT_RUN_FAILED = 1
EXIT_INTERRUPTED = 130
STATUS_POLL_INTERVAL = 1.0
"""Seconds between status checks when the log is not shown (``--no-logs``)."""


def describe_outcome(run: Mapping[str, Any]) -> tuple[str, int]:
    """The closing line for a finished run and the exit code: 0 only for ``Succeeded``."""
    run_id = run.get("runId", "?")
    status = run.get("status")
    seconds = elapsed_seconds(run.get("startTime") or run.get("createTime"), run.get("finishTime"))
    after = f" after {format_short_duration(seconds)}" if seconds is not None else ""
    if status == "Succeeded":
        return f"Run ID: {run_id} was successful{after}", 0
    if status == "Canceled":
        return f"Run ID: {run_id} was canceled{after}", EXIT_RUN_FAILED
    error = run.get("error")
    if error:
        return f"Run ID: {run_id} failed: {error}", EXIT_RUN_FAILED
    return f"Run ID: {run_id} failed with status {status}{after}", EXIT_RUN_FAILED


def follow_run(
    client: DrydockClient,
    run_id: str,
    *,
    show_logs: bool,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Wait for the run to finish (streaming its log unless told not to); return the exit code."""
    try:
        if show_logs:
            status = stream_log(client, run_id, out, follow=True, sleep=sleep)
        else:
            status = _wait_for_status(client, run_id, sleep)
    except KeyboardInterrupt:
        click.echo(
            f"\nStopped following run {run_id}; it goes on. See it with: drydock logs {run_id}",
            err=True,
        )
        return EXIT_INTERRUPTED
    try:
        run = client.get_run(run_id)
    except ApiError:
        # The run may already be purged; the log's status header is enough to judge it.
        run = {"runId": run_id, "status": status}
    message, code = describe_outcome(run)
    click.echo(message, file=out)
    return code


def _wait_for_status(client: DrydockClient, run_id: str, sleep: Callable[[float], None]) -> str:
    while True:
        status = client.get_run(run_id).get("status", "")
        if status in TERMINAL_STATUSES:
            return status
        sleep(STATUS_POLL_INTERVAL)
