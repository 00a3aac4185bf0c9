"""``python -m devhost [--app function_app:app] [--host 127.0.0.1] [--port 7071]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from devhost.config import HostConfig
from devhost.discovery import describe_all, discover, load_app
from devhost.host import Host
from shared.errors import ConfigurationError

logger = logging.getLogger("devhost")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the app")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7071, help="port (0 picks a free one)")
    parser.add_argument("--log-level", default="INFO", help="logging level")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDK logs every storage request at INFO; queue polling would drown the log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        config = HostConfig.from_env()
        host = Host(discover(load_app(args.app)), config, (args.host, args.port))
    except (ConfigurationError, ImportError, OSError) as exc:
        logger.error("cannot start: %s", exc)
        return 2
    if not config.api_key:
        logger.warning("DRYDOCK_API_KEY is not set: only anonymous functions can be called")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    host.start()
    print(describe_all(host.functions, host.base_url, config.resolve), flush=True)
    logger.info("host started on %s", host.base_url)
    while not stopping.wait(1.0):
        pass
    host.stop()
    logger.info("host stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
