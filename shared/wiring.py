"""Builds the storage adapters from settings, once per process."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from shared.base_image_rebuilds import TaskRebuildStarter
from shared.notifications import NotificationServices, RetryPolicy, check_target_address
from shared.notify_http import HttpNotificationSender
from shared.registry.acr import AcrLogin, default_credential
from shared.registry.client import RegistryClient
from shared.registry.credentials import credential_lookup
from shared.settings import Settings
from shared.storage.base_image_tables import BaseImageIndex
from shared.storage.blobs import BlobContextStore, BlobLogStore
from shared.storage.queues import (
    BUILD_REQUESTS_QUEUE,
    NOTIFICATIONS_QUEUE,
    RUN_EVENTS_QUEUE,
    StorageQueue,
)
from shared.storage.tables import TableRunStore, TableSecretStore
from shared.storage.task_tables import TableDeliveryStore, TableTaskStore, TableTimerFiringStore
from shared.submission import SubmissionServices

NOTIFICATIONS_TABLE = "drydockNotifications"
"""One row per notification delivery id, inserted before its first message is sent."""


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    runs: TableRunStore
    secrets: TableSecretStore
    logs: BlobLogStore
    contexts: BlobContextStore
    build_queue: StorageQueue
    events_queue: StorageQueue
    tasks: TableTaskStore
    deliveries: TableDeliveryStore
    timer_firings: TableTimerFiringStore
    base_images: BaseImageIndex
    registry: RegistryClient
    """One per process: it caches registry tokens and rate-limit backoffs."""
    notifications_queue: StorageQueue
    notification_claims: TableDeliveryStore
    notification_sender: HttpNotificationSender
    notification_policy: RetryPolicy = RetryPolicy()
    """Attempts and backoff of notification deliveries; tests shorten it."""

    def rebuild_starter(self, now: datetime) -> TaskRebuildStarter:
        return TaskRebuildStarter(self.tasks, self.submission(), now)

    def submission(self) -> SubmissionServices:
        return SubmissionServices(
            runs=self.runs,
            contexts=self.contexts,
            secrets=self.secrets,
            build_queue=self.build_queue,
            resolve=resolve_host,
            registry=self.settings.registry,
            allow_private_networks=self.settings.allow_private_networks,
        )

    def notification_services(self) -> NotificationServices:
        return NotificationServices(
            runs=self.runs,
            tasks=self.tasks,
            sender=self.notification_sender,
            queue=self.notifications_queue,
            resolve=resolve_host,
            allow_private_networks=self.settings.allow_private_networks,
            default_secret=self.settings.webhook_secret,
            policy=self.notification_policy,
        )

    def check_notification_target(self, url: str) -> None:
        """InvalidRequest when ``url``'s host is an address Drydock must not post to."""
        check_target_address(url, resolve_host, self.settings.allow_private_networks)


def resolve_host(host: str) -> Sequence[str]:
    """Every address ``host`` resolves to; empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def make_adapters(
    settings: Settings,
    build_queue: str = BUILD_REQUESTS_QUEUE,
    events_queue: str = RUN_EVENTS_QUEUE,
    notifications_queue: str = NOTIFICATIONS_QUEUE,
) -> Adapters:
    conn = settings.storage_connection
    adapters = Adapters(
        settings=settings,
        runs=TableRunStore(conn),
        secrets=TableSecretStore(conn),
        logs=BlobLogStore(conn),
        contexts=BlobContextStore(conn),
        build_queue=StorageQueue(conn, build_queue),
        events_queue=StorageQueue(conn, events_queue),
        tasks=TableTaskStore(conn),
        deliveries=TableDeliveryStore(conn),
        timer_firings=TableTimerFiringStore(conn),
        base_images=BaseImageIndex(conn),
        registry=RegistryClient(
            credentials=AcrLogin(default_credential(), credential_lookup(os.environ))
        ),
        notifications_queue=StorageQueue(conn, notifications_queue),
        notification_claims=TableDeliveryStore(conn, NOTIFICATIONS_TABLE),
        notification_sender=HttpNotificationSender(),
    )
    adapters.runs.ensure_tables()
    adapters.secrets.ensure_table()
    adapters.logs.ensure_container()
    adapters.contexts.ensure_container()
    adapters.build_queue.ensure_queue()
    adapters.events_queue.ensure_queue()
    adapters.tasks.ensure_table()
    adapters.deliveries.ensure_table()
    adapters.timer_firings.ensure_table()
    adapters.base_images.ensure_tables()
    adapters.notifications_queue.ensure_queue()
    adapters.notification_claims.ensure_table()
    return adapters


@lru_cache(maxsize=1)
def default_adapters() -> Adapters:
    """The process-wide adapters, from the environment, created on first use."""
    return make_adapters(Settings.from_env())
