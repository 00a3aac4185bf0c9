"""Parts of a stack a fault test owns outright: Azurite on its own ports, builder
processes and a functions host on it. A test may stop and restart them; nobody
else uses them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite"


def three_free_ports() -> int:
    """The first of three consecutive free loopback ports (Azurite's blob, queue, table)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first < 65000 and all(_free(first + i) for i in (1, 2)):
            return first
    raise RuntimeError("no three consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def azurite(location: Path, port: int) -> Iterator[subprocess.Popen]:
    """Azurite on ``port`` to ``port + 2`` keeping its data in ``location``."""
    command = [str(AZURITE), "--location", str(location), "--skipApiVersionCheck", "--loose",
               "--disableTelemetry"]  # fmt: skip
    for offset, kind in enumerate(("blob", "queue", "table")):
        command += [f"--{kind}Host", "127.0.0.1", f"--{kind}Port", str(port + offset)]
    with (location / "azurite.log").open("a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while not all(answers(port + offset) for offset in range(3)):
                assert time.monotonic() < deadline and process.poll() is None, "no Azurite"
                time.sleep(0.1)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)


def start_builder(
    env: Mapping[str, str], log: Path, workspace: Path, *args: str
) -> subprocess.Popen:
    """``python -m builder`` with ``env`` over this environment, logging to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "builder", "--workspace", str(workspace), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@contextmanager
def functions_host(env: Mapping[str, str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    """The project's own functions host (``python -m devhost``) on ``port``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        yield process
    finally:
        stop(process)


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok
    except requests.RequestException:
        return False


def stop(process: subprocess.Popen, timeout: float = 90) -> None:
    """SIGTERM, then SIGKILL if it has not left within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
