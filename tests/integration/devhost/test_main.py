"""``python -m devhost`` as separate processes: startup listing, keys, signals, and two
processes on one storage firing a timer once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import azure.functions as func
import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from devhost.config import HOST_ID
from devhost.leases import LOCK_CONTAINER
from shared.settings import API_KEY, STORAGE
from tests.integration.devhost.conftest import TEST_KEY, wait_until

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]

# The app the subprocesses serve (they import this module); the tests here never
# call get_functions() on it themselves.
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="whoami", methods=["GET"])
def whoami(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(os.getpid()))


@app.timer_trigger(schedule="%DEVHOST_TICK_SCHEDULE%", arg_name="timer")
def report_tick(timer: func.TimerRequest) -> None:
    report = QueueClient.from_connection_string(
        os.environ[STORAGE], os.environ["DEVHOST_REPORT_QUEUE"]
    )
    report.send_message(f"{os.getpid()} {timer.schedule_status['Last']}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HostProcess:
    def __init__(self, environ: dict[str, str], log_dir: Path, label: str) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stdout = log_dir / f"{label}.out"
        self.stderr = log_dir / f"{label}.err"
        command = [sys.executable, "-m", "devhost", "--app", f"{__name__}:app"]
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=REPO_ROOT,
                env=environ,
                stdout=out,
                stderr=err,
            )

    def wait_ready(self) -> None:
        wait_until(self._answers, timeout=30)

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.stderr.read_text()
        with contextlib.suppress(requests.ConnectionError):
            return requests.get(f"{self.base_url}/api/whoami", timeout=2).status_code == 401
        return False

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def environ(storage_connection, unique_name) -> Iterator[dict[str, str]]:
    report = QueueClient.from_connection_string(storage_connection, unique_name)
    report.create_queue()
    yield {
        **os.environ,
        STORAGE: storage_connection,
        API_KEY: TEST_KEY,
        HOST_ID: unique_name,
        "DEVHOST_TICK_SCHEDULE": "*/1 * * * * *",
        "DEVHOST_REPORT_QUEUE": unique_name,
        "PYTHONUNBUFFERED": "1",
    }
    with contextlib.suppress(ResourceNotFoundError):
        report.delete_queue()
    locks = BlobServiceClient.from_connection_string(storage_connection).get_container_client(
        LOCK_CONTAINER
    )
    for blob in locks.list_blobs(name_starts_with=f"locks/{unique_name}/"):
        locks.delete_blob(blob.name)


@pytest.fixture
def spawn(environ, tmp_path) -> Iterator[Callable[[str], HostProcess]]:
    processes: list[HostProcess] = []

    def start(label: str) -> HostProcess:
        processes.append(HostProcess(environ, tmp_path, label))
        return processes[-1]

    yield start
    for process in processes:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def test_main_lists_functions_serves_with_keys_and_stops_on_sigterm(spawn):
    host = spawn("single")
    host.wait_ready()
    headers = {"x-functions-key": TEST_KEY}
    response = requests.get(f"{host.base_url}/api/whoami", headers=headers, timeout=5)
    assert (response.status_code, response.text) == (200, str(host.process.pid))

    started = time.monotonic()
    assert host.terminate() == 0
    assert time.monotonic() - started < 10
    listing = host.stdout.read_text()
    assert f"whoami: [GET] {host.base_url}/api/whoami" in listing
    assert "report_tick: timerTrigger (*/1 * * * * *)" in listing
    log = host.stderr.read_text()
    assert "GET /api/whoami -> 200" in log
    assert TEST_KEY not in log


def test_two_processes_on_one_storage_fire_each_occurrence_once(spawn, environ, storage_connection):
    first, second = spawn("first"), spawn("second")
    first.wait_ready()
    second.wait_ready()
    time.sleep(4)
    first.terminate()
    second.terminate()

    report = QueueClient.from_connection_string(storage_connection, environ["DEVHOST_REPORT_QUEUE"])
    reports = [m.content.split(" ", 1) for m in report.receive_messages(max_messages=100)]
    pids = {pid for pid, _ in reports}
    lasts = [last for _, last in reports]
    assert len(lasts) >= 3
    assert len(pids) == 1, f"both processes fired: {reports}"
    assert len(lasts) == len(set(lasts)), f"an occurrence fired twice: {lasts}"
