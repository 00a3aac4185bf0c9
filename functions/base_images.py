"""Base-image updates: the poll (timer and ``POST /api/base-images/check``) and
registry push events (``POST /api/webhooks/registry``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from functions.http import handle, json_response, query_pairs
from shared.base_image_poll import check_all, check_image
from shared.errors import PayloadTooLarge
from shared.image_ref import normalise_image_ref
from shared.registry_webhook import check_bearer, handle_registry_push
from shared.settings import MAX_WEBHOOK_BODY_BYTES
from shared.wiring import Adapters, default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.timer_trigger(schedule="%DRYDOCK_BASE_IMAGE_POLL_SCHEDULE%", arg_name="timer")
def poll_base_images(timer: func.TimerRequest) -> None:
    report = _check_all(default_adapters())
    log.info("base-image poll: %d checked, runs %s, errors %s",
             report["checked"], report["runs"], report["errors"])  # fmt: skip


@bp.route(route="base-images/check", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def check_base_images(req: func.HttpRequest) -> func.HttpResponse:
    image = dict(query_pairs(req)).get("image")
    return handle(req, lambda adapters: json_response(_check(adapters, image)))


@bp.route(route="webhooks/registry", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def registry_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _on_push(req, adapters), key_required=False)


def _check(adapters: Adapters, image: str | None) -> dict[str, object]:
    if not image:
        return _check_all(adapters)
    now = datetime.now(UTC)
    runs = check_image(normalise_image_ref(image), adapters.base_images, adapters.registry,
                       adapters.rebuild_starter(now), now)  # fmt: skip
    return {"checked": 1, "runs": runs, "errors": {}}


def _check_all(adapters: Adapters) -> dict[str, object]:
    now = datetime.now(UTC)
    report = check_all(adapters.base_images, adapters.registry, adapters.rebuild_starter(now), now)
    return report.to_api()


def _on_push(req: func.HttpRequest, adapters: Adapters) -> func.HttpResponse:
    body = req.get_body()
    if len(body) > MAX_WEBHOOK_BODY_BYTES:
        raise PayloadTooLarge("the notification is over 25 MB")
    check_bearer(req.headers.get("authorization"), adapters.settings.webhook_secret)
    now = datetime.now(UTC)
    starter = adapters.rebuild_starter(now)
    runs = handle_registry_push(
        body, lambda ref: check_image(ref, adapters.base_images, adapters.registry, starter, now)
    )
    return json_response({"runs": runs}, status=202 if runs else 200)
