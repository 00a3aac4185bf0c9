"""Fixtures of the fault tier (``make test-faults``): the integration tier's builder
context, plus services each test owns and may kill."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.integration.conftest import base, ctx, web  # noqa: F401 - fixtures for this tier
from tests.support.auth_registries import free_port


@contextmanager
def private_registry(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A plain Distribution registry on a free loopback port: ``(host:port, process)``."""
    port = free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder}/data\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (folder / "registry.log").open("w") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield f"127.0.0.1:{port}", process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
