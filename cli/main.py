"""``drydock``: the command line of Drydock, mirroring ``az acr``.

Exit codes: 0 success; 1 the run did not succeed; 2 usage errors (bad options,
missing folder or Dockerfile); 3 the API could not be reached or refused the
request; 130 interrupted.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from cli.api import ApiError, DrydockClient
from cli.commands.build import build
from cli.commands.run import run
from cli.commands.runs import logs, runs
from cli.commands.tasks import task
from cli.settings import API_KEY_ENV, DEFAULT_URL, URL_ENV, resolve_settings

EXIT_API_ERROR = 3


class DrydockGroup(click.Group):
    """Turns an ``ApiError`` from any command into its message and exit code 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_API_ERROR)


@click.group(cls=DrydockGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    metavar="URL",
    help=f"Drydock's Functions host. Env {URL_ENV}; default {DEFAULT_URL}.",
)
@click.option(
    "--api-key",
    metavar="KEY",
    help=f"REST API key. Env {API_KEY_ENV}; default: .data/api-key.",
)
@click.option("--debug", is_flag=True, help="Log HTTP requests to stderr.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, debug: bool) -> None:
    """Build, run and follow container image builds on Drydock (like `az acr`)."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    ctx.obj = DrydockClient(resolve_settings(url, api_key))


cli.add_command(build)
cli.add_command(run)
cli.add_command(logs)
cli.add_command(runs)
cli.add_command(task)


def main() -> None:
    cli(prog_name="drydock")


if __name__ == "__main__":
    main()
