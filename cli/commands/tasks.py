"""``drydock task …``, like ``az acr task``; definitions and runs in ``task_manage.py``."""

from __future__ import annotations

import json

import click

from cli.api import DrydockClient
from cli.commands.runs import list_runs_options, print_runs
from cli.commands.task_manage import COMMANDS as TASK_COMMANDS


@click.group()
def task() -> None:
    """Manage tasks and their runs."""


for _command in TASK_COMMANDS:
    task.add_command(_command)


@task.command("list-runs")
@list_runs_options
@click.pass_obj
def list_runs(client: DrydockClient, **filters) -> None:
    """List runs, newest first (same as `drydock runs`)."""
    print_runs(client, **filters)


# Run control. DrydockClient has no methods for these yet, so they call its
# request helper directly; move them onto the client when it grows them.
@task.command("cancel-run")
@click.option("--run-id", required=True, metavar="ID", help="The queued or running run.")
@click.pass_obj
def cancel_run(client: DrydockClient, run_id: str) -> None:
    """Cancel a run: a queued one never starts, a running one is stopped."""
    run = client.request("POST", f"/api/runs/{run_id}/cancel").json()
    click.echo(f"Run {run['runId']} {run['status']}.")


@task.command("update-run")
@click.option("--run-id", required=True, metavar="ID", help="The run to update.")
@click.option(
    "--no-archive",
    required=True,
    type=click.BOOL,
    help="As az acr: 'false' archives the run (kept past retention), 'true' un-archives it.",
)
@click.pass_obj
def update_run(client: DrydockClient, run_id: str, no_archive: bool) -> None:
    """Archive or un-archive a run; prints the run."""
    body = {"archived": not no_archive}
    run = client.request("PATCH", f"/api/runs/{run_id}", json=body).json()
    click.echo(json.dumps(run, indent=2))
