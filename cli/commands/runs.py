"""``drydock runs`` and ``drydock logs``: look at runs, like ``az acr task list-runs|logs``."""

from __future__ import annotations

import json
import sys

import click

from cli.api import DrydockClient
from cli.follow import EXIT_INTERRUPTED
from cli.formatting import runs_table
from cli.logs import stream_log

RUN_STATUSES = ("Queued", "Running", "Succeeded", "Failed", "Canceled", "Error", "Timeout")
TRIGGERS = ("Manual", "Commit", "PullRequest", "BaseImageUpdate", "Timer")


def list_runs_options(command):
    """The filters of ``runs`` and ``task list-runs``, declared once."""
    for option in reversed(
        [
            click.option("--task", metavar="T", help="Only runs of this task."),
            click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs in it."),
            click.option("--trigger", type=click.Choice(TRIGGERS), help="Only runs it started."),
            click.option(
                "--top", type=click.IntRange(min=1), metavar="N", help="At most N runs, newest."
            ),
            click.option(
                "-o",
                "--output",
                type=click.Choice(("table", "json")),
                default="table",
                show_default=True,
                help="Output format.",
            ),
        ]
    ):
        command = option(command)
    return command


def print_runs(
    client: DrydockClient,
    task: str | None,
    status: str | None,
    trigger: str | None,
    top: int | None,
    output: str,
) -> None:
    filters = {"task": task, "status": status, "trigger": trigger, "top": top}
    params = {name: str(value) for name, value in filters.items() if value is not None}
    answer = client.list_runs(params)
    if output == "json":
        click.echo(json.dumps(answer, indent=2))
    else:
        click.echo(runs_table(answer.get("runs", [])))


@click.command()
@list_runs_options
@click.pass_obj
def runs(client: DrydockClient, **filters) -> None:
    """List runs, newest first."""
    print_runs(client, **filters)


@click.command()
@click.argument("run_id")
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep streaming until the run finishes.",
)
@click.pass_obj
def logs(client: DrydockClient, run_id: str, follow: bool) -> None:
    """Show the log of RUN_ID, following it while the run goes."""
    try:
        stream_log(client, run_id, sys.stdout, follow=follow)
    except KeyboardInterrupt:
        click.echo(f"\nStopped following run {run_id}; it goes on.", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
