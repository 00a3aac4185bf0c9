"""``drydock build``: a quick task, like ``az acr build``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import click

from cli.api import ApiError, DrydockClient
from cli.build_request import (
    BuildOptions,
    InvalidOption,
    archive_query_params,
    is_remote_source,
    parse_key_values,
    url_request_body,
)
from cli.context_tar import ContextError, check_context, pack_context
from cli.follow import follow_run


@click.command()
@click.argument("source")
@click.option(
    "-t",
    "--image",
    "images",
    multiple=True,
    metavar="IMG",
    help="Image to push, repo:tag; {{.Run.ID}} allowed; bare names go to the default registry.",
)
@click.option("-f", "--file", "file", metavar="FILE", help="Dockerfile, relative to SOURCE.")
@click.option("--build-arg", "build_args", multiple=True, metavar="K=V", help="Build argument.")
@click.option(
    "--secret-build-arg",
    "secret_build_args",
    multiple=True,
    metavar="K=V",
    help="Build argument kept out of the run's record and log.",
)
@click.option("--no-push", is_flag=True, help="Build only; push nothing.")
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    metavar="S",
    help="Seconds before the run is stopped (server default 3600).",
)
@click.option("--platform", metavar="P", help="Target platform, e.g. linux/amd64.")
@click.option("--target", metavar="T", help="Build stage to stop at.")
@click.option("--no-logs", is_flag=True, help="Wait for the run without showing its log.")
@click.option("--no-wait", is_flag=True, help="Queue the run, print it as JSON and return.")
@click.pass_obj
def build(
    client: DrydockClient,
    source: str,
    images: tuple[str, ...],
    file: str | None,
    build_args: tuple[str, ...],
    secret_build_args: tuple[str, ...],
    no_push: bool,
    timeout: int | None,
    platform: str | None,
    target: str | None,
    no_logs: bool,
    no_wait: bool,
) -> None:
    """Build an image from SOURCE: a local folder, a Git URL (repo#ref:subfolder)
    or the URL of a .tar.gz, and push it unless --no-push.

    \b
    Examples:
      drydock build -t hello:{{.Run.ID}} .
      drydock build -t web:v1 -f docker/Dockerfile --build-arg VERSION=1 ./src
      drydock build -t app:latest https://git.example.com/app.git#main:src
    """
    try:
        options = BuildOptions(
            images=images,
            file=file,
            build_args=parse_key_values(build_args, "--build-arg"),
            secret_build_args=parse_key_values(secret_build_args, "--secret-build-arg"),
            no_push=no_push,
            platform=platform,
            target=target,
            timeout=timeout,
        )
    except InvalidOption as exc:
        raise click.UsageError(str(exc)) from exc
    # Progress goes with the log on stdout, as az acr shows it, unless stdout is for the JSON.
    say = partial(click.echo, err=no_wait)
    if is_remote_source(source):
        run = client.create_build_from_url(url_request_body(source, options))
    else:
        run = _submit_local_folder(client, Path(source), options, say)

    run_id = run.get("runId")
    if not run_id:
        raise ApiError(f"Drydock answered without a run id: {json.dumps(run)[:300]}")
    say(f"Queued a build with ID: {run_id}")
    if no_wait:
        click.echo(json.dumps(run, indent=2))
        return
    say("Waiting for an agent...")
    code = follow_run(client, run_id, show_logs=not no_logs, out=sys.stdout)
    click.get_current_context().exit(code)


def _submit_local_folder(
    client: DrydockClient, root: Path, options: BuildOptions, say: Callable[[str], None]
) -> dict:
    try:
        dockerfile = check_context(root, options.file or "Dockerfile")
        say("Packing source code into tar to upload...")
        archive = pack_context(root, dockerfile)
    except ContextError as exc:
        raise click.UsageError(str(exc)) from exc
    with archive:
        size = archive.seek(0, 2)
        archive.seek(0)
        say(f"Sending context ({_human_size(size)}) to Drydock...")
        # Sent normalised ("./x/Dockerfile" → "x/Dockerfile"), and only when the user chose one.
        params = archive_query_params(replace(options, file=dockerfile if options.file else None))
        return client.create_build_from_archive(archive, params)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
