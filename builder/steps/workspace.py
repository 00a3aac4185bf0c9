"""A build step's context, taken from the run's shared workspace volume.

Steps share ``/workspace``: a ``cmd`` step may write the Dockerfile or the
sources a later ``build`` step builds, so a build reads the volume as it is
now, not the builder's copy of the original context. The builder may run in a
container against a remote engine, so nothing is bind-mounted: a helper
container that is created but never started mounts the volume read-only, and
the engine's archive API (``GET /containers/{id}/archive``) streams the
context folder out.

What comes out is whatever the run's steps wrote, so it is checked and
extracted like an uploaded context (shared/archive.py: no links leading out,
no devices, the same entry and size caps) into a private folder, which the
build then sends as usual (honouring ``.dockerignore``) and the dependency
discovery reads the Dockerfile from.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import urllib3

from builder.steps.containers import HELPER_IMAGE, WORKSPACE_MOUNT, run_resource_labels
from shared.archive import ArchiveLimits, extract_archive
from shared.errors import BuildFailed, InvalidRequest, TransientError
from shared.taskfile.workspace import workspace_path

CONTEXT_LIMITS = ArchiveLimits()
"""The caps of an uploaded context: the workspace is as untrusted as one."""
_ENGINE_ERRORS = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
)


@contextmanager
def context_from_workspace(
    client: docker.DockerClient, volume: str, context: str
) -> Iterator[Path]:
    """A private folder holding the workspace's ``context`` folder as it is now;
    removed on leaving."""
    path = workspace_path(context)
    if path is None:
        raise BuildFailed(f"build context {context!r} is not in the workspace, {WORKSPACE_MOUNT}")
    with tempfile.TemporaryDirectory(
        prefix="drydock-step-context-", ignore_cleanup_errors=True
    ) as folder:
        with _helper(client.api, volume) as helper_id:
            _copy_out(client.api, helper_id, path, Path(folder), context)
        yield Path(folder)


@contextmanager
def _helper(api: docker.APIClient, volume: str) -> Iterator[str]:
    """A container never started, with the volume mounted read-only at the workspace."""
    binds = {volume: {"bind": WORKSPACE_MOUNT, "mode": "ro"}}
    try:
        helper = api.create_container(
            HELPER_IMAGE,
            command=["/none"],
            host_config=api.create_host_config(binds=binds, network_mode="none"),
            labels=run_resource_labels(),
        )
    except _ENGINE_ERRORS as exc:
        raise TransientError(f"cannot read the workspace: {exc}") from exc
    try:
        yield str(helper["Id"])
    finally:
        with suppress(*_ENGINE_ERRORS):
            api.remove_container(helper["Id"], force=True)


def _copy_out(
    api: docker.APIClient,
    helper_id: str,
    path: str,
    folder: Path,
    context: str,
) -> None:
    try:
        # "/." archives the folder's contents; the engine resolves a symlinked
        # folder inside the helper, whose only contents are the volume.
        chunks, _ = api.get_archive(helper_id, f"{path}/.")
        extract_archive(io.BufferedReader(_ChunkReader(iter(chunks))), folder, CONTEXT_LIMITS)
    except docker.errors.NotFound:
        raise BuildFailed(f"build context {context!r} is not in the workspace") from None
    except docker.errors.APIError as exc:
        if "not a directory" in str(exc.explanation):  # said with the engine's own paths
            raise BuildFailed(f"build context {context!r} is a file, not a folder") from None
        raise BuildFailed(f"build context {context!r}: {exc.explanation or exc}") from exc
    except InvalidRequest as exc:
        raise BuildFailed(f"the workspace folder {context!r} cannot be built: {exc}") from exc
    except _ENGINE_ERRORS as exc:
        raise TransientError(f"the Docker Engine failed reading the workspace: {exc}") from exc


class _ChunkReader(io.RawIOBase):
    """The engine's stream of byte chunks as a file to read from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size
