"""The notifications queue: one delivery attempt per message; a failed attempt
enqueues the next one itself, delayed, so the host never retries a delivery."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.notifications import deliver_notification
from shared.storage.queues import NOTIFICATIONS_QUEUE
from shared.wiring import default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.queue_trigger(arg_name="msg", queue_name=NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage")
def send_notification(msg: func.QueueMessage) -> None:
    try:
        message = json.loads(msg.get_body())
        if not isinstance(message, dict):
            raise TypeError(f"a {type(message).__name__}, not an object")
        outcome = deliver_notification(message, default_adapters().notification_services())
    except (ValueError, KeyError, TypeError) as exc:
        # Permanent: a malformed message cannot become deliverable.
        log.error("notification message %s refused: %s: %s", msg.id, type(exc).__name__, exc)
        return
    log.info("notification message %s: %s", msg.id, outcome.value)
