"""Log retention: a timer that purges runs past ``DRYDOCK_LOG_RETENTION_DAYS``, and
those beyond their task's ``historyLimits``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from shared.retention import purge_beyond_history, purge_expired_runs, retention_period
from shared.wiring import default_adapters

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="%DRYDOCK_RETENTION_SCHEDULE%")
def purge_expired(timer: func.TimerRequest) -> None:
    adapters = default_adapters()
    retention = retention_period(adapters.settings.log_retention_days)
    report = purge_expired_runs(
        adapters.runs,
        (adapters.logs, adapters.contexts, adapters.secrets),
        datetime.now(UTC),
        retention,
    )
    log.info(
        "retention (%s): purged %d runs, skipped %d (archived or changed meanwhile)",
        retention,
        report.deleted,
        report.skipped,
    )
    log.debug("retention purged: %s", " ".join(report.deleted_ids))
    beyond = purge_beyond_history(
        adapters.runs, adapters.tasks.list(), (adapters.logs, adapters.contexts, adapters.secrets)
    )
    log.info("history limits: purged %d runs, skipped %d", beyond.deleted, beyond.skipped)
    log.debug("history limits purged: %s", " ".join(beyond.deleted_ids))
