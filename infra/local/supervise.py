"""Start local services, wait until they answer, and stop them again.

Stdlib only: it runs before the virtualenv is trusted. Each part of the stack is
a `Service` (what to run, where it logs, how to tell it is up); `Supervisor`
starts groups of them, waits for readiness with a deadline, and stops what it
started in reverse order.
"""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


class StackError(Exception):
    """A part could not start: one line saying why and what to do, and its log."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class Service:
    name: str
    command: Sequence[str]
    log: Path
    ready: Callable[[], bool]
    where: str
    """One line for the summary: URL, ports, data directory."""
    env: Mapping[str, str] | None = None
    ports: Sequence[int] = ()
    port_setting: str = ""
    """Environment variable that moves this service's port(s), for the 'port taken' hint."""
    timeout: float = 60.0
    settle: float = 0.0
    """Seconds the process must stay alive before it counts as up (for port-less parts)."""
    own_group: bool = True
    """Signal the whole process group on stop (False for dockerd: it stops containerd itself)."""
    stop_timeout: float = 15.0


@dataclass
class Running:
    service: Service
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return False


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=3)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3)
        sock.connect(self.unix_path)
        self.sock = sock


def docker_answers(endpoint: str) -> bool:
    """`GET /_ping` on a Docker Engine at unix:// or tcp://; other schemes ask `docker info`."""
    if endpoint.startswith("unix://"):
        connection: http.client.HTTPConnection = _UnixHTTPConnection(endpoint[len("unix://") :])
    elif endpoint.startswith("tcp://"):
        connection = http.client.HTTPConnection(endpoint[len("tcp://") :], timeout=3)
    else:
        return _docker_cli_answers()
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _docker_cli_answers() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def tail(log: Path, lines: int = 15) -> list[str]:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def _die_with_parent() -> None:
    # Runs in the child before exec: a killed supervisor must not leave orphans.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Owns the processes it started; `stop_all` stops them newest first."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: list[Running] = []

    def start_group(self, services: Sequence[Service]) -> None:
        """Start services together and return once every one answers."""
        started = [self._start(service) for service in services]
        self._wait_ready(started)

    def _start(self, service: Service) -> Running:
        service.log.parent.mkdir(parents=True, exist_ok=True)
        with open(service.log, "wb") as log:
            process = subprocess.Popen(
                list(service.command),
                cwd=self.cwd,
                env=dict(service.env) if service.env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        running = Running(service, process)
        self.running.append(running)
        return running

    def _wait_ready(self, started: Sequence[Running]) -> None:
        waiting = list(started)
        while waiting:
            for running in list(waiting):
                if self._is_ready(running):
                    waiting.remove(running)
            time.sleep(0.1)

    def _is_ready(self, running: Running) -> bool:
        service = running.service
        elapsed = time.monotonic() - running.started
        code = running.process.poll()
        if code is not None:
            raise StackError(f"{service.name} exited with code {code} while starting", service.log)
        if elapsed >= service.settle and service.ready():
            return True
        if elapsed > service.timeout:
            raise StackError(
                f"{service.name} did not answer within {service.timeout:.0f} s", service.log
            )
        return False

    def check_alive(self) -> None:
        for running in self.running:
            code = running.process.poll()
            if code is not None:
                name = running.service.name
                raise StackError(f"{name} exited with code {code}", running.service.log)

    def stop_all(self) -> None:
        while self.running:
            self._stop(self.running.pop())

    def _stop(self, running: Running) -> None:
        process, service = running.process, running.service
        if process.poll() is not None:
            return
        self._signal(running, signal.SIGTERM)
        try:
            process.wait(timeout=service.stop_timeout)
        except subprocess.TimeoutExpired:
            print(f"  {service.name} did not stop within {service.stop_timeout:.0f} s: killed")
            self._signal(running, signal.SIGKILL)
            process.wait()

    @staticmethod
    def _signal(running: Running, signum: int) -> None:
        try:
            if running.service.own_group:
                os.killpg(running.process.pid, signum)
            else:
                running.process.send_signal(signum)
        except ProcessLookupError:
            pass
