"""The run-events queue: builders' outcomes, recorded idempotently, then notified
and followed up; and its poison queue, whose messages are recorded on their run
rather than lost."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime

import azure.functions as func

from shared.base_image_rebuilds import follow_up_finished_run
from shared.errors import InvalidRequest, NotFound
from shared.notifications import enqueue_notifications
from shared.run_events import record_outcome, record_poisoned_event
from shared.storage.queues import RUN_EVENTS_POISON_QUEUE, RUN_EVENTS_QUEUE
from shared.wiring import default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.queue_trigger(arg_name="msg", queue_name=RUN_EVENTS_QUEUE, connection="AzureWebJobsStorage")
def on_run_event(msg: func.QueueMessage) -> None:
    adapters = default_adapters()
    try:
        event = json.loads(msg.get_body())
        changed = record_outcome(event, adapters.runs)
        run, _ = adapters.runs.get(str(event["runId"]))
    except (ValueError, KeyError, InvalidRequest, NotFound) as exc:
        # Permanent: retrying cannot help, so record it and drop the message.
        log.error("run event %s refused: %s", msg.id, exc)
        return
    now = datetime.now(UTC)
    # Before the follow-up: a chain that keeps failing must not cost the notifications.
    notified = enqueue_notifications(run, adapters.tasks, adapters.notification_claims,
                                     adapters.notifications_queue, now)  # fmt: skip
    chained = follow_up_finished_run(run, adapters.base_images, adapters.registry,
                                     adapters.rebuild_starter(now))  # fmt: skip
    log.info("run event for %s recorded (changed=%s, notifications %s, chained runs %s)",
             run.run_id, changed, notified, chained)  # fmt: skip


@bp.queue_trigger(
    arg_name="msg", queue_name=RUN_EVENTS_POISON_QUEUE, connection="AzureWebJobsStorage"
)
def on_poisoned_run_event(msg: func.QueueMessage) -> None:
    body = msg.get_body()
    log.error("run event %s was poisoned: %r", msg.id, body[:500])
    adapters = default_adapters()
    now = datetime.now(UTC)
    run_id = record_poisoned_event(body, adapters.runs, adapters.logs, now)
    log.warning("poisoned run event %s recorded on run %s", msg.id, run_id or "(none named)")
    if run_id is not None:
        with contextlib.suppress(NotFound):
            run, _ = adapters.runs.get(run_id)
            enqueue_notifications(run, adapters.tasks, adapters.notification_claims,
                                  adapters.notifications_queue, now)  # fmt: skip
