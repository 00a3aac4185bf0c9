"""Run logs (append blobs) and uploaded build contexts (block blobs)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import BinaryIO

from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

from shared.errors import NotFound, TransientError

LOGS_CONTAINER = "drydock-logs"
CONTEXTS_CONTAINER = "drydock-contexts"
# An append block holds at most 4 MiB.
MAX_APPEND_BLOCK = 4 * 1024 * 1024


def _ensure_container(service: BlobServiceClient, name: str) -> None:
    try:
        service.create_container(name)
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise TransientError(f"blob storage is unreachable: {exc}") from exc


class BlobLogStore:
    """One append blob per run: ``<runId>.log``."""

    def __init__(self, connection: str, container: str = LOGS_CONTAINER) -> None:
        self._service = BlobServiceClient.from_connection_string(connection)
        self._container_name = container
        self._container = self._service.get_container_client(container)

    def ensure_container(self) -> None:
        _ensure_container(self._service, self._container_name)

    def create(self, run_id: str) -> None:
        try:
            # IfMissing: a retaken run keeps the log of its earlier attempt.
            self._container.get_blob_client(f"{run_id}.log").create_append_blob(
                content_settings=ContentSettings(content_type="text/plain; charset=utf-8"),
                headers={"If-None-Match": "*"},
            )
        except (ResourceExistsError, ResourceModifiedError):
            pass
        except AzureError as exc:
            raise TransientError(f"blob storage is unreachable: {exc}") from exc

    def append(self, run_id: str, data: bytes) -> None:
        blob = self._container.get_blob_client(f"{run_id}.log")
        try:
            for start in range(0, len(data), MAX_APPEND_BLOCK):
                blob.append_block(data[start : start + MAX_APPEND_BLOCK])
        except AzureError as exc:
            raise TransientError(f"could not append to the log of {run_id}: {exc}") from exc

    def read(self, run_id: str, offset: int) -> bytes:
        """The log from byte ``offset``; empty when nothing new (or no log yet)."""
        blob = self._container.get_blob_client(f"{run_id}.log")
        try:
            size = blob.get_blob_properties().size
            if offset >= size:
                return b""
            return blob.download_blob(offset=offset, length=size - offset).readall()
        except ResourceNotFoundError:
            return b""
        except AzureError as exc:
            raise TransientError(f"could not read the log of {run_id}: {exc}") from exc

    def delete(self, run_id: str) -> None:
        """Gone already is fine: two purges may race."""
        _delete_blob(self._container, f"{run_id}.log")

    def delete_many(self, run_ids: Sequence[str]) -> None:
        _delete_blobs(self._container, [f"{run_id}.log" for run_id in run_ids])


class BlobContextStore:
    """Uploaded contexts, ``<runId>.tar.gz``, kept until the run is purged."""

    def __init__(self, connection: str, container: str = CONTEXTS_CONTAINER) -> None:
        self._service = BlobServiceClient.from_connection_string(connection)
        self._container_name = container
        self._container = self._service.get_container_client(container)

    def ensure_container(self) -> None:
        _ensure_container(self._service, self._container_name)

    def upload(self, run_id: str, data: BinaryIO) -> None:
        try:
            self._container.upload_blob(f"{run_id}.tar.gz", data, overwrite=True)
        except AzureError as exc:
            raise TransientError(f"blob storage is unreachable: {exc}") from exc

    def download(self, run_id: str) -> BinaryIO:
        """A temporary file holding the context (spooled to disk: contexts can be large)."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
        try:
            self._container.download_blob(f"{run_id}.tar.gz").readinto(spool)
        except ResourceNotFoundError:
            spool.close()
            raise NotFound(f"the uploaded context of run {run_id} is gone") from None
        except AzureError as exc:
            spool.close()
            raise TransientError(f"blob storage is unreachable: {exc}") from exc
        spool.seek(0)
        return spool

    def delete(self, run_id: str) -> None:
        """Gone already is fine: two purges may race, and Git contexts have none."""
        _delete_blob(self._container, f"{run_id}.tar.gz")

    def delete_many(self, run_ids: Sequence[str]) -> None:
        _delete_blobs(self._container, [f"{run_id}.tar.gz" for run_id in run_ids])


def _delete_blob(container: ContainerClient, name: str) -> None:
    try:
        container.delete_blob(name)
    except ResourceNotFoundError:
        pass
    except AzureError as exc:
        raise TransientError(f"could not delete {name}: {exc}") from exc


BLOB_BATCH = 256
"""Sub-requests one blob batch may hold."""


def _delete_blobs(container: ContainerClient, names: list[str]) -> None:
    """Blob batch deletes, 256 names a request; a name already gone is fine."""
    for start in range(0, len(names), BLOB_BATCH):
        chunk = names[start : start + BLOB_BATCH]
        try:
            answers = container.delete_blobs(*chunk, raise_on_any_failure=False)
        except AzureError as exc:
            raise TransientError(f"could not delete {len(chunk)} blobs: {exc}") from exc
        failed = [name for name, answer in zip(chunk, answers, strict=True)
                  if answer.status_code not in (202, 404)]  # fmt: skip
        if failed:
            raise TransientError(f"could not delete {', '.join(failed[:5])}")
