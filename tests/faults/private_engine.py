"""A Docker Engine of the test's own, to stop and start again mid-run.

Other tests share this machine's default engine at the same time, so it is never
restarted. This one has its own data root, exec root (and so its own containerd),
pid file, socket and daemon config, and its own Linux bridge in a private range
nobody else routes. It touches no iptables rules and no sysctl: containers on it
reach nothing but the bridge, which builds need not (the engine itself pulls
bases from the test registry on loopback).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import docker

START_SECONDS = 60
STOP_SECONDS = 60
SHUTDOWN_TIMEOUT_SECONDS = 3
"""Seconds a graceful engine stop gives running containers: a build's RUN ends
sooner than the default 15, and the test with it."""


class PrivateEngine:
    def __init__(self, root: Path, bridge: str, log: Path) -> None:
        self.root = root
        self.bridge = bridge
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        """The engine's ``DOCKER_HOST``."""
        return f"unix://{self.root / 'docker.sock'}"

    def start(self) -> None:
        (self.root / "daemon.json").write_text(json.dumps({}))  # no machine-wide config
        with self.log.open("a") as log:
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=log)
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"dockerd did not answer: see {self.log}"
            time.sleep(0.2)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """SIGTERM: the engine stops its containers and leaves (a restart);
        SIGKILL: it dies at once (a crash)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signum)
        self.process.wait(timeout=STOP_SECONDS)

    def answers(self) -> bool:
        try:
            client = docker.APIClient(base_url=self.host, timeout=2)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - any failure means it does not answer (yet)
            return False

    def _command(self) -> list[str]:
        namespace = self.root.name.replace("-", "")
        return ["dockerd", "--config-file", str(self.root / "daemon.json"),
                "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                "--pidfile", str(self.root / "dockerd.pid"), "--host", self.host,
                "--bridge", self.bridge, "--iptables=false", "--ip6tables=false",
                "--ip-masq=false", "--ip-forward=false",
                "--containerd-namespace", namespace,
                "--containerd-plugins-namespace", f"{namespace}-plugins",
                "--shutdown-timeout", str(SHUTDOWN_TIMEOUT_SECONDS)]  # fmt: skip


@contextmanager
def private_engine(log: Path) -> Iterator[PrivateEngine]:
    """A running private engine; afterwards stopped, its bridge and files gone."""
    # Under /tmp and short: containerd's socket path lives below the exec root
    # and a unix socket path may not exceed 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="ddf-", dir="/tmp"))
    bridge = _add_bridge(f"ddf{uuid.uuid4().hex[:8]}")
    engine = PrivateEngine(root, bridge, log)
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()
        _end_leftovers(root)
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", bridge], check=False, capture_output=True)


def _add_bridge(name: str) -> str:
    subnet = _unused_subnet()
    address = f"{next(subnet.hosts())}/{subnet.prefixlen}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", address, "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    except subprocess.CalledProcessError:
        subprocess.run(["ip", "link", "delete", name], check=False)
        raise
    return name


def _unused_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200.0.0/13 that overlaps no address or route on this machine."""
    taken = _networks_in_use()
    for _ in range(100):
        second, third = random.randint(200, 207), random.randint(0, 255)
        candidate = ipaddress.ip_network(f"10.{second}.{third}.0/24")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise RuntimeError("no unused /24 in 10.200.0.0/13 for the private engine's bridge")


def _networks_in_use() -> list[ipaddress.IPv4Network]:
    found = []
    listings = (["addr"], ["route", "list", "table", "all"])
    for command in (["ip", "-j", "-4", *listing] for listing in listings):
        for entry in json.loads(subprocess.run(command, check=True, capture_output=True).stdout):
            for info in entry.get("addr_info", [{"local": entry.get("dst")}]):
                with suppress(ValueError):
                    prefix = f"/{info['prefixlen']}" if "prefixlen" in info else ""
                    found.append(ipaddress.ip_network(f"{info['local']}{prefix}", strict=False))
    return found


def _end_leftovers(root: Path) -> None:
    """Container shims outlive an engine that was killed; they name our exec root,
    so these are ours alone. Each is ended by its pid."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with suppress(OSError):
            if str(root).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)


def _unmount_below(root: Path) -> None:
    """dockerd mounts its data root over itself (and overlays below it)."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "--lazy", mount], check=False, capture_output=True)
