"""A factory that runs the devhost in-process on a free port, stopped after the test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from devhost.config import HOST_ID, HostConfig
from devhost.discovery import FunctionDescriptor
from devhost.host import Host
from shared.settings import API_KEY, STORAGE

TEST_KEY = "devhost-test-key"

StartHost = Callable[..., Host]


@pytest.fixture
def start_host(storage_connection: str, unique_name: str) -> Iterator[StartHost]:
    """``start_host(functions, settings={})`` → a started Host; all are stopped at teardown.

    Every host of one test shares a host id (and so the timer lock blobs).
    """
    hosts: list[Host] = []

    def start(functions: Sequence[FunctionDescriptor], settings: Mapping[str, str] = ()) -> Host:
        environ = {STORAGE: storage_connection, API_KEY: TEST_KEY, HOST_ID: unique_name}
        host = Host(functions, HostConfig.from_env({**environ, **dict(settings)}), ("127.0.0.1", 0))
        host.start()
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.stop(grace_seconds=2)  # idempotent: a test may have stopped it already


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.1) -> object:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
