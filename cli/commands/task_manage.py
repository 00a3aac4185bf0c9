"""``drydock task create|update|show|list|delete|run|show-run|logs``, like ``az acr task``.

DrydockClient has no task methods yet, so these call its request helper
directly (as the run-control commands do); move them onto the client with it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cli.api import ApiError, DrydockClient
from cli.build_request import InvalidOption, parse_key_values
from cli.follow import follow_run
from cli.formatting import render_table
from cli.logs import stream_log
from cli.task_body import TaskOptions, task_body

_NAME = click.option("-n", "--name", required=True, metavar="NAME", help="The task's name.")
_OUTPUT = click.option(
    "-o", "--output", type=click.Choice(("json", "table")), default="json", show_default=True
)


def _task_options(command):
    """The definition options of ``create`` and ``update``, declared once."""
    options = [
        click.option(
            "-c", "--context", metavar="URL", help="Git URL (repo#ref:subfolder) or tarball URL."
        ),
        click.option(
            "-f", "--file", metavar="FILE", help="Dockerfile or task YAML in the context."
        ),
        click.option(
            "-t",
            "--image",
            "images",
            multiple=True,
            metavar="IMG",
            help="Image to push; repeatable.",
        ),
        click.option(
            "--arg", "args", multiple=True, metavar="K=V", help="Build argument; repeatable."
        ),
        click.option(
            "--secret-arg",
            "secret_args",
            multiple=True,
            metavar="K=V",
            help="Secret build argument, never shown again; repeatable.",
        ),
        click.option(
            "--set", "values", multiple=True, metavar="K=V", help="Value for {{.Values.K}}."
        ),
        click.option(
            "--schedule",
            "schedules",
            multiple=True,
            metavar="CRON",
            help="Timer, cron in UTC (e.g. '0 2 * * *'); repeatable; replaces timers.",
        ),
        click.option("--status", type=click.Choice(("Enabled", "Disabled"))),
        click.option("--timeout", type=click.IntRange(min=1), metavar="S", help="Seconds per run."),
        click.option("--platform", metavar="P", help="Target platform, e.g. linux/amd64."),
        click.option(
            "--no-push", type=click.BOOL, default=None, metavar="BOOL", help="Build only."
        ),
        click.option("--commit-trigger-enabled", "commit_trigger", type=click.BOOL, metavar="BOOL"),
        click.option(
            "--branch",
            "branches",
            multiple=True,
            metavar="B",
            help="Branch (or glob) commits trigger on; default the context's #ref.",
        ),
        click.option(
            "--pull-request-trigger-enabled",
            "pull_request_trigger",
            type=click.BOOL,
            metavar="BOOL",
        ),
        click.option(
            "--base-image-trigger-enabled", "base_image_trigger", type=click.BOOL, metavar="BOOL"
        ),
        click.option(
            "--base-image-trigger-type",
            "base_image_trigger_type",
            type=click.Choice(("Runtime", "All")),
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@_NAME
@_task_options
@click.pass_obj
def create(client: DrydockClient, name: str, **given: Any) -> None:
    """Create a task; fails if one of that name exists.

    \b
    Example:
      drydock task create -n hello -c https://git.example.com/app.git#main \\
        -t hello:{{.Run.ID}} --schedule "0 2 * * *"
    """
    if not given.get("context"):
        raise click.UsageError("--context is required to create a task")
    body = _body(TaskOptions(**given))
    answer = client.request("PUT", f"/api/tasks/{name}", json=body,
                             headers={"If-None-Match": "*"}).json()  # fmt: skip
    click.echo(json.dumps(answer, indent=2))


@click.command()
@_NAME
@_task_options
@click.pass_obj
def update(client: DrydockClient, name: str, **given: Any) -> None:
    """Change the options given; everything else stays as it is."""
    current = client.request("GET", f"/api/tasks/{name}")
    body = _body(TaskOptions(**given), current.json())
    headers = {"If-Match": current.headers.get("ETag", "*")}
    answer = client.request("PUT", f"/api/tasks/{name}", json=body, headers=headers).json()
    click.echo(json.dumps(answer, indent=2))


def _body(options: TaskOptions, current: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        return task_body(options, current)
    except InvalidOption as exc:
        raise click.UsageError(str(exc)) from exc


@click.command()
@_NAME
@click.pass_obj
def show(client: DrydockClient, name: str) -> None:
    """Show a task (secret values are never shown)."""
    click.echo(json.dumps(client.request("GET", f"/api/tasks/{name}").json(), indent=2))


@click.command("list")
@_OUTPUT
@click.pass_obj
def list_tasks(client: DrydockClient, output: str) -> None:
    """List tasks."""
    tasks = client.request("GET", "/api/tasks").json().get("tasks", [])
    if output == "json":
        click.echo(json.dumps(tasks, indent=2))
        return
    rows = [(t["name"], t["status"], t["context"], _trigger_summary(t)) for t in tasks]
    click.echo(render_table(("NAME", "STATUS", "CONTEXT", "TRIGGERS"), rows))


def _trigger_summary(task: dict[str, Any]) -> str:
    triggers = task.get("triggers") or {}
    names = [name for name in ("commit", "pullRequest", "baseImage")
             if (triggers.get(name) or {}).get("enabled")]  # fmt: skip
    names += [f"timer:{t['name']}" for t in triggers.get("timers") or [] if t.get("enabled")]
    return ",".join(names) or "-"


@click.command()
@_NAME
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def delete(client: DrydockClient, name: str, yes: bool) -> None:
    """Delete a task; its runs stay."""
    if not yes:
        click.confirm(f"Delete task {name}?", abort=True)
    client.request("DELETE", f"/api/tasks/{name}")
    click.echo(f"Task {name} deleted.")


@click.command("run")
@_NAME
@click.option("--set", "values", multiple=True, metavar="K=V", help="Value for {{.Values.K}}.")
@click.option("--no-logs", is_flag=True, help="Wait for the run without showing its log.")
@click.option("--no-wait", is_flag=True, help="Queue the run, print it as JSON and return.")
@click.pass_obj
def run_task(client: DrydockClient, name: str, values: tuple[str, ...], no_logs: bool,
             no_wait: bool) -> None:  # fmt: skip
    """Run a task now; exits non-zero unless the run succeeds."""
    try:
        body = {"set": parse_key_values(values, "--set")}
    except InvalidOption as exc:
        raise click.UsageError(str(exc)) from exc
    run = client.request("POST", f"/api/tasks/{name}/runs", json=body).json()
    click.echo(f"Queued a run with ID: {run['runId']}", err=no_wait)
    if no_wait:
        click.echo(json.dumps(run, indent=2))
        return
    code = follow_run(client, run["runId"], show_logs=not no_logs, out=sys.stdout)
    click.get_current_context().exit(code)


@click.command("show-run")
@click.option("--run-id", required=True, metavar="ID")
@click.pass_obj
def show_run(client: DrydockClient, run_id: str) -> None:
    """Show a run as JSON."""
    click.echo(json.dumps(client.get_run(run_id), indent=2))


@click.command("logs")
@click.option("--run-id", metavar="ID", help="The run; default the task's newest run.")
@click.option("-n", "--name", metavar="NAME", help="Show the newest run of this task.")
@click.option("--follow/--no-follow", default=True, show_default=True)
@click.pass_obj
def task_logs(client: DrydockClient, run_id: str | None, name: str | None, follow: bool) -> None:
    """Show a run's log, following it while it goes."""
    if not run_id:
        if not name:
            raise click.UsageError("give --run-id, or --name for the task's newest run")
        runs = client.list_runs({"task": name, "top": "1"}).get("runs", [])
        if not runs:
            raise ApiError(f"task {name} has no runs yet")
        run_id = runs[0]["runId"]
    stream_log(client, run_id, sys.stdout, follow=follow)


COMMANDS = (create, update, show, list_tasks, delete, run_task, show_run, task_logs)
