"""``python -m builder``: a long-running worker taking runs off ``build-requests``."""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from functools import partial
from pathlib import Path

from builder.engine import DockerEngine
from builder.run_lifecycle import BuilderContext, execute_run
from builder.worker import Worker
from shared.runs import Run
from shared.settings import Settings
from shared.storage.queues import BUILD_REQUESTS_QUEUE, RUN_EVENTS_QUEUE
from shared.wiring import make_adapters

log = logging.getLogger("builder")


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDK logs every request at INFO: with fast idle polling that drowns the log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    settings = Settings.from_env()
    ctx = BuilderContext(
        adapters=make_adapters(settings, args.queue, args.events_queue),
        engine=DockerEngine.from_env(),
        workspace_root=Path(args.workspace),
    )
    Path(args.workspace).mkdir(parents=True, exist_ok=True)
    concurrency = args.concurrency or settings.builder_concurrency
    worker = Worker(ctx.adapters.build_queue, partial(_handle, ctx=ctx), concurrency)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("builder taking runs from %s (concurrency %d)", args.queue, concurrency)
    worker.serve(stop)
    log.info("builder stopped")


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
    parser.add_argument("--workspace", default=str(Path(tempfile.gettempdir()) / "drydock-builder"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
