"""``drydock task …``, like ``az acr task``. For now only what reads runs; the rest comes later."""

from __future__ import annotations

import click

from cli.api import DrydockClient
from cli.commands.runs import list_runs_options, print_runs


@click.group()
def task() -> None:
    """Manage tasks and their runs."""


@task.command("list-runs")
@list_runs_options
@click.pass_obj
def list_runs(client: DrydockClient, **filters) -> None:
    """List runs, newest first (same as `drydock runs`)."""
    print_runs(client, **filters)
