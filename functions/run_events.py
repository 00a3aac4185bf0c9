"""The run-events queue: builders' outcomes, recorded idempotently."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.errors import InvalidRequest, NotFound
from shared.run_events import record_outcome
from shared.storage.queues import RUN_EVENTS_QUEUE
from shared.wiring import default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.queue_trigger(arg_name="msg", queue_name=RUN_EVENTS_QUEUE, connection="AzureWebJobsStorage")
def on_run_event(msg: func.QueueMessage) -> None:
    try:
        event = json.loads(msg.get_body())
        changed = record_outcome(event, default_adapters().runs)
    except (ValueError, InvalidRequest, NotFound) as exc:
        # Permanent: retrying cannot help, so record it and drop the message.
        log.error("run event %s refused: %s", msg.id, exc)
        return
    log.info("run event for %s recorded (changed=%s)", event.get("runId"), changed)
