"""Turning a validated request into a queued run: record, context, message.

The run record is written before the message is sent, so a builder never
sees a message whose run it cannot read; a message whose run insert failed is
never sent. The message itself is small: the run id only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from shared.build_requests import BuildRequest
from shared.context_url import check_address_allowed, parse_context_url
from shared.image_ref import parse_image_ref
from shared.ports import ContextStore, MessageQueue, RunStore, SecretStore
from shared.run_ids import format_run_id
from shared.runs import BuildSpec, ImageOutput, Run, RunStatus, Trigger
from shared.templating import render_template, run_variables

UPLOAD_CONTEXT = "upload"

Resolver = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class SubmissionServices:
    runs: RunStore
    contexts: ContextStore
    secrets: SecretStore
    build_queue: MessageQueue
    resolve: Resolver
    registry: str
    allow_private_networks: bool


@dataclass(frozen=True)
class RunOrigin:
    """What started a run. Manual quick builds use the default."""

    trigger: Trigger = Trigger.MANUAL
    task: str | None = None
    commit: str | None = None
    branch: str | None = None
    base_image_update: dict[str, str] | None = None


def check_context_reachable(context: str, services: SubmissionServices) -> None:
    """Refuse contexts on addresses we must not fetch from (SSRF)."""
    host = parse_context_url(context).host
    check_address_allowed(host, services.resolve(host), services.allow_private_networks)


def submit_build(
    request: BuildRequest,
    services: SubmissionServices,
    now: datetime,
    upload: BinaryIO | None = None,
    origin: RunOrigin = RunOrigin(),
    values: dict[str, str] | None = None,
) -> Run:
    run_id = format_run_id(services.runs.allocate_sequence())
    run = new_run(request, services, now, run_id, origin, values)
    if upload is not None:
        services.contexts.upload(run_id, upload)
    if request.secret_build_args:
        services.secrets.put(run_id, dict(request.secret_build_args))
    services.runs.insert(run)
    services.build_queue.send({"runId": run_id})
    return run


def new_run(
    request: BuildRequest,
    services: SubmissionServices,
    now: datetime,
    run_id: str,
    origin: RunOrigin,
    values: dict[str, str] | None,
) -> Run:
    """The ``Queued`` record of a request under ``run_id``, its context checked
    reachable; nothing is stored yet."""
    variables = run_variables(
        run_id=run_id,
        registry=services.registry,
        now=now,
        commit=origin.commit or "",
        branch=origin.branch or "",
        task_name=origin.task or "quickrun",
        values=values,
    )
    run = Run(
        run_id=run_id,
        status=RunStatus.QUEUED,
        trigger=origin.trigger,
        task=origin.task,
        commit=origin.commit,
        branch=origin.branch,
        base_image_update=origin.base_image_update,
        create_time=now,
        spec=_spec(request, variables, values or {}),
        images=tuple(
            _image_output(image, variables, services.registry) for image in request.images
        ),
    )
    # After the pure checks, so a request with several faults names the cheapest first.
    if request.context is not None:
        check_context_reachable(request.context, services)
    return run


def _spec(request: BuildRequest, variables: dict[str, str], values: dict[str, str]) -> BuildSpec:
    return BuildSpec(
        context=request.context or UPLOAD_CONTEXT,
        file=request.file,
        build_args=tuple(
            (name, render_template(value, variables)) for name, value in request.build_args.items()
        ),
        secret_arg_names=tuple(request.secret_build_args),
        no_push=request.no_push or not request.images,
        platform=request.platform,
        target=request.target,
        timeout=request.timeout,
        values=tuple(values.items()),  # a task file renders {{.Values.x}} in the builder
    )


def _image_output(template: str, variables: dict[str, str], registry: str) -> ImageOutput:
    ref = parse_image_ref(render_template(template, variables), default_registry=registry)
    return ImageOutput(registry=ref.registry, repository=ref.repository, tag=ref.tag or "latest")
