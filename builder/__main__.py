"""``python -m builder``: a long-running worker taking runs off ``build-requests``."""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from functools import partial
from pathlib import Path
from typing import Any

from builder.discovery import discover_task_dependencies
from builder.engine import DockerEngine
from builder.run_lifecycle import BuilderContext, execute_run
from builder.worker import Worker
from shared.errors import DrydockError
from shared.runs import Run
from shared.settings import Settings
from shared.storage.queues import BUILD_REQUESTS_QUEUE, RUN_EVENTS_QUEUE
from shared.wiring import make_adapters

log = logging.getLogger("builder")

DEFAULT_GRACE_SECONDS = 20.0
"""Within Kubernetes' default 30 s termination grace, leaving time to hand back."""


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDK logs every request at INFO: with fast idle polling that drowns the log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    settings = Settings.from_env()
    hand_back = threading.Event()
    ctx = BuilderContext(
        adapters=make_adapters(settings, args.queue, args.events_queue),
        engine=DockerEngine.from_env(),
        workspace_root=Path(args.workspace),
        hand_back=hand_back,
    )
    Path(args.workspace).mkdir(parents=True, exist_ok=True)
    concurrency = args.concurrency or settings.builder_concurrency
    worker = Worker(
        ctx.adapters.build_queue,
        partial(_handle, ctx=ctx),
        concurrency,
        settings.builder_lease_seconds,
        hand_back,
        partial(_handle_other, ctx=ctx),
        settings.builder_idle_poll_seconds,
        ready=ctx.engine.answers,
    )
    stop = threading.Event()
    on_signal = partial(_on_signal, stop=stop, hand_back=hand_back, grace=args.grace)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("builder taking runs from %s (concurrency %d)", args.queue, concurrency)
    worker.serve(stop)
    log.info("builder stopped")


def _handle_other(body: dict[str, Any], ctx: BuilderContext) -> None:
    if body.get("type") != "DiscoverDependencies":
        log.warning("ignoring a message that is neither a run nor a known chore: %s", sorted(body))
        return
    try:
        discover_task_dependencies(str(body.get("task", "")), ctx)
    except DrydockError as exc:  # best effort: the task's first run records them anyway
        log.warning("dependency discovery for task %s failed: %s", body.get("task"), exc)


def _on_signal(
    signum: int, _frame: object, stop: threading.Event, hand_back: threading.Event, grace: float
) -> None:
    """First signal: take no more work and let the runs in hand finish for
    ``grace`` seconds, then hand them back. A second signal hands back at once."""
    if stop.is_set():
        log.info("signal %d again: handing the runs in hand back now", signum)
        hand_back.set()
        return
    log.info("signal %d: taking no more runs; handing back what is left after %.0fs", signum, grace)
    stop.set()
    timer = threading.Timer(grace, hand_back.set)
    timer.daemon = True
    timer.start()


def _handle(run_id: str, delivery_count: int, ctx: BuilderContext) -> Run | None:
    return execute_run(run_id, delivery_count, ctx)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m builder", description=__doc__)
    parser.add_argument("--queue", default=BUILD_REQUESTS_QUEUE)
    parser.add_argument("--events-queue", default=RUN_EVENTS_QUEUE)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="runs at once (default: DRYDOCK_BUILDER_CONCURRENCY)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        help="after SIGTERM, seconds the runs in hand may finish before they are handed back",
    )
    parser.add_argument("--workspace", default=str(Path(tempfile.gettempdir()) / "drydock-builder"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
