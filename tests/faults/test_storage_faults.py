"""Azurite restarted while a builder process holds a run: the run still ends in a
true state (Succeeded, possibly after a retake), recorded once, its lease released."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.build_requests import parse_query_build_request
from shared.errors import DrydockError
from shared.runs import RunStatus
from shared.settings import Settings, azurite_connection_string
from shared.submission import submit_build
from shared.wiring import make_adapters
from tests.support.archives import make_tar

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite"
TERMINAL = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ERROR, RunStatus.CANCELED,
            RunStatus.TIMEOUT}  # fmt: skip


def _three_free_ports() -> int:
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


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def _azurite(location: Path, port: int) -> Iterator[subprocess.Popen]:
    command = [str(AZURITE), "--location", str(location), "--skipApiVersionCheck", "--loose",
               "--disableTelemetry"]  # fmt: skip
    for offset, kind in enumerate(("blob", "queue", "table")):
        command += [f"--{kind}Host", "127.0.0.1", f"--{kind}Port", str(port + offset)]
    with (location / "azurite.log").open("a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while not all(_answers(port + offset) for offset in range(3)):
                assert time.monotonic() < deadline and process.poll() is None, "no Azurite"
                time.sleep(0.1)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)


def _stop(builder: subprocess.Popen) -> None:
    if builder.poll() is None:
        builder.terminate()
        try:
            builder.wait(timeout=90)
        except subprocess.TimeoutExpired:
            builder.kill()
            builder.wait()


def _get(adapters, run_id):
    try:
        return adapters.runs.get(run_id)[0]
    except DrydockError:
        return None  # storage restarting


def test_azurite_restarted_mid_run_ends_the_run_in_a_true_state(
    base, tmp_path, registry_host, unique_name
):
    location = tmp_path / "azurite"
    location.mkdir()
    port = _three_free_ports()
    connection = azurite_connection_string(blob_port=port)
    env = {"AzureWebJobsStorage": connection, "DRYDOCK_REGISTRY": registry_host,
           "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true", "DRYDOCK_API_KEY": "faults"}  # fmt: skip
    with _azurite(location, port) as first:
        adapters = make_adapters(Settings.from_env(env), f"{unique_name}-b", f"{unique_name}-e")
        adapters.build_queue.ensure_queue()
        dockerfile = f"FROM {base[0]}\nRUN echo started && sleep 8 && echo finished\n"
        run = submit_build(
            parse_query_build_request([("noPush", "true")]),
            adapters.submission(),
            datetime.now(UTC),
            make_tar({"Dockerfile": dockerfile}),
        )
        builder = subprocess.Popen(
            [sys.executable, "-m", "builder", "--queue", f"{unique_name}-b",
             "--events-queue", f"{unique_name}-e", "--workspace", str(tmp_path / "ws")],
            cwd=ROOT, env={**os.environ, **env},
            stdout=(tmp_path / "builder.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while (current := _get(adapters, run.run_id)) is None or (
                current.status is not RunStatus.RUNNING
            ):
                assert time.monotonic() < deadline, "the builder never took the run"
                time.sleep(0.2)
            time.sleep(1)
            first.terminate()
            first.wait(timeout=20)
            time.sleep(3)  # storage is away while the build goes on
            with _azurite(location, port):
                deadline = time.monotonic() + 240
                while (ended := _get(adapters, run.run_id)) is None or ended.status not in TERMINAL:
                    assert time.monotonic() < deadline, (tmp_path / "builder.log").read_text()[
                        -3000:
                    ]
                    time.sleep(0.5)
                log = adapters.logs.read(run.run_id, 0).decode()
                runs = list(adapters.runs.list(top=100))
                _stop(builder)  # while storage is up, so it can hand back and leave
        finally:
            _stop(builder)
    assert ended.status is RunStatus.SUCCEEDED, (ended.error, log)
    assert "finished" in log
    assert [r.run_id for r in runs] == [run.run_id]  # neither lost nor doubled
    assert ended.lease_until is None
