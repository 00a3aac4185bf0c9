"""Fixtures shared by every tier.

Services are started by `make test` (infra/local/stack.py) and found through
the environment; a missing service is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

from shared.settings import STORAGE, azurite_connection_string


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def storage_connection() -> str:
    """Connection string of the Azurite the tests use."""
    conn = os.environ.get(STORAGE) or azurite_connection_string()
    blob = next(p.split("=", 1)[1] for p in conn.split(";") if p.startswith("BlobEndpoint="))
    url = urlparse(blob)
    if not _answers(url.hostname or "127.0.0.1", url.port or 10000):
        pytest.fail(f"Azurite does not answer at {blob}: start it with `make test`")
    return conn


@pytest.fixture(scope="session")
def registry_host() -> str:
    """host:port of the local OCI registry (CNCF Distribution)."""
    host = os.environ.get("DRYDOCK_TEST_REGISTRY", "localhost:5000")
    name, _, port = host.partition(":")
    if not _answers(name, int(port or 443)):
        pytest.fail(f"the registry does not answer at {host}: start it with `make test`")
    return host


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client on the engine the builder uses."""
    import docker

    client = docker.from_env(timeout=300)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        pytest.fail(f"no Docker Engine answers ({exc}): start one with `make test`")
    return client


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: lowercase letters and digits, valid for tables,
    queues, containers and repositories alike."""
    return "t" + uuid.uuid4().hex[:12]
