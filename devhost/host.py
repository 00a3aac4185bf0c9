"""The host: wires discovered functions to the HTTP server, queue listeners and timers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from devhost.config import HostConfig
from devhost.discovery import FunctionDescriptor, HttpFunction, QueueFunction, TimerFunction
from devhost.http_server import FunctionsHttpServer
from devhost.invoke import Invoker
from devhost.leases import singleton_lease
from devhost.ncrontab import resolve_setting
from devhost.queue_listener import QueueListener, queue_clients
from devhost.timers import TimerRunner

logger = logging.getLogger(__name__)

QUEUE_WORKERS = 32
"""Threads running queue-triggered functions, shared by all queues."""


class Host:
    """Serves one app's functions until ``stop``; every part is built in the constructor."""

    def __init__(
        self,
        functions: Sequence[FunctionDescriptor],
        config: HostConfig,
        address: tuple[str, int] = ("127.0.0.1", 7071),
    ) -> None:
        self.functions = list(functions)
        self._invoker = Invoker()
        self._executor = ThreadPoolExecutor(QUEUE_WORKERS, thread_name_prefix="devhost-worker")
        self.http = FunctionsHttpServer(
            address,
            [f for f in self.functions if isinstance(f, HttpFunction)],
            self._invoker,
            config.api_key,
        )
        self.listeners = [
            self._listener(f, config) for f in self.functions if isinstance(f, QueueFunction)
        ]
        self.timers = [
            self._timer(f, config) for f in self.functions if isinstance(f, TimerFunction)
        ]
        self._stopped = False
        self._http_thread = threading.Thread(
            target=self.http.serve_forever, name="devhost-http", daemon=True
        )

    def _listener(self, function: QueueFunction, config: HostConfig) -> QueueListener:
        connection = config.connection(config.resolve(function.connection))
        queue, poison = queue_clients(connection, config.resolve(function.queue_name))
        return QueueListener(function, queue, poison, self._invoker, self._executor)

    def _timer(self, function: TimerFunction, config: HostConfig) -> TimerRunner:
        schedule = resolve_setting(function.schedule, config.environ)
        lease = singleton_lease(config.storage_connection, config.host_id, function.name)
        return TimerRunner(function, schedule, lease, self._invoker)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def start(self) -> None:
        self._http_thread.start()
        for listener in self.listeners:
            listener.start()
        for timer in self.timers:
            timer.start()

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking work, give in-flight work ``grace_seconds``, release leases."""
        if self._stopped:
            return
        self._stopped = True
        logger.info("shutting down")
        self.http.shutdown()
        if not self.http.wait_idle(grace_seconds):
            logger.warning("HTTP requests still running after %.0f s; cut off", grace_seconds)
        for timer in self.timers:
            timer.stop(grace_seconds)
        for listener in self.listeners:
            listener.stop(grace_seconds)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.http.server_close()
        self._invoker.close()
