"""Blob leases that make a timer fire on one host instance at a time.

Like the real host's singleton locks: a blob ``locks/<host id>/<function>`` in
the ``azure-webjobs-hosts`` container; whoever holds its lease fires the timer,
renewing it in the background; the others keep trying to take it over.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient, BlobServiceClient, ContainerClient

logger = logging.getLogger(__name__)

LOCK_CONTAINER = "azure-webjobs-hosts"
LEASE_SECONDS = 30
"""Lease length: a crashed holder's timer moves to another host within this long."""
RENEW_SECONDS = LEASE_SECONDS / 3
"""Renew (or retry taking) well before expiry so one slow call doesn't lose the lease."""


def singleton_lease(connection_string: str, host_id: str, function_name: str) -> SingletonLease:
    """The lease that lets one host instance of ``host_id`` run ``function_name``."""
    service = BlobServiceClient.from_connection_string(connection_string)
    container = service.get_container_client(LOCK_CONTAINER)
    return SingletonLease(container, f"locks/{host_id}/{function_name}")


class SingletonLease:
    """Holds, renews and releases one lock blob's lease from a background thread."""

    def __init__(
        self, container: ContainerClient, blob_name: str, lease_seconds: int = LEASE_SECONDS
    ) -> None:
        self._container = container
        self._blob = container.get_blob_client(blob_name)
        self._lease_seconds = lease_seconds
        self._lease: BlobLeaseClient | None = None
        self._valid_until = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._keep, name=f"devhost-lease-{blob_name}", daemon=True
        )

    @property
    def held(self) -> bool:
        # Valid only while the last acquire/renew is younger than the lease,
        # minus a margin for clock drift between us and storage.
        return self._lease is not None and time.monotonic() < self._valid_until - 2

    def start(self) -> None:
        """Try once right away (so run_on_startup knows), then keep at it."""
        self._attempt()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._release()

    def _keep(self) -> None:
        while not self._stop.wait(self._lease_seconds / 3):
            self._attempt()

    def _attempt(self) -> None:
        started = time.monotonic()
        try:
            if self._lease is None:
                self._acquire()
            else:
                self._lease.renew()
            self._valid_until = started + self._lease_seconds
        except HttpResponseError as exc:
            if self._lease is not None:
                logger.warning("lost the lease on %s: %s", self._blob.blob_name, exc.message)
            self._lease = None
        except Exception:  # a storage outage must not end the keeper thread
            logger.exception("lease on %s: storage call failed", self._blob.blob_name)

    def _acquire(self) -> None:
        self._ensure_blob()
        try:
            self._lease = self._blob.acquire_lease(lease_duration=self._lease_seconds)
        except ResourceExistsError:
            return  # another instance holds it
        logger.info("holding the lease on %s", self._blob.blob_name)

    def _ensure_blob(self) -> None:
        if self._blob.exists():
            return
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        with contextlib.suppress(ResourceExistsError):
            self._blob.upload_blob(b"", overwrite=False)

    def _release(self) -> None:
        lease, self._lease = self._lease, None
        if lease is None:
            return
        try:
            lease.release()
        except HttpResponseError as exc:
            logger.warning("releasing the lease on %s: %s", self._blob.blob_name, exc.message)
