"""The stack under measurement: its REST API, its registry, the Docker Engine.

Settings come from the environment `stack.py bench` passes (``DRYDOCK_URL``,
``DRYDOCK_API_KEY``, ``DRYDOCK_REGISTRY``), so `python -m bench` can also be
pointed at any other running stack.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import docker
import requests

from tests.support.images import make_base_image

BASE_REPOSITORY = "bench/busybox"
TERMINAL = frozenset({"Succeeded", "Failed", "Canceled", "Error", "Timeout"})


class BenchError(Exception):
    """The stack is not there or a measured build did not do what it should."""


@dataclass
class Target:
    url: str
    api_key: str
    registry: str
    docker: docker.DockerClient
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Target:
        missing = [
            n for n in ("DRYDOCK_URL", "DRYDOCK_API_KEY", "DRYDOCK_REGISTRY") if not environ.get(n)
        ]
        if missing:
            raise BenchError(
                f"{', '.join(missing)} not set: run the benchmarks through `make bench`, "
                "or set them to point at a running stack"
            )
        target = cls(
            url=environ["DRYDOCK_URL"].rstrip("/"),
            api_key=environ["DRYDOCK_API_KEY"],
            registry=environ["DRYDOCK_REGISTRY"],
            docker=docker.from_env(timeout=600),
        )
        target.session.headers["x-functions-key"] = target.api_key
        try:
            target.session.get(f"{target.url}/api/health", timeout=10).raise_for_status()
        except requests.RequestException as exc:
            raise BenchError(f"the functions host does not answer at {target.url}: {exc}") from exc
        return target

    @property
    def host_port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def base_image(self) -> str:
        """A busybox base in the stack's registry (nothing can be pulled from the internet)."""
        reference = f"{self.registry}/{BASE_REPOSITORY}:base"
        make_base_image(self.docker, reference, {"/etc/bench-base": reference + "\n"})
        return reference

    # ---- REST API ---------------------------------------------------------

    def submit_archive(self, archive: bytes, params: list[tuple[str, str]]) -> dict[str, Any]:
        response = self.session.post(
            f"{self.url}/api/builds",
            params=params,
            data=archive,
            headers={"Content-Type": "application/gzip"},
            timeout=60,
        )
        if response.status_code != 202:
            raise BenchError(f"POST /api/builds answered {response.status_code}: {response.text}")
        return response.json()

    def get_run(self, run_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/api/runs/{run_id}", timeout=30)
        response.raise_for_status()
        return response.json()

    def wait_for_run(
        self, run_id: str, poll: float, timeout: float = 300
    ) -> tuple[dict[str, Any], float]:
        """The run once terminal, and the wall-clock time it was first seen so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.get_run(run_id)
            if run["status"] in TERMINAL:
                return run, time.time()
            time.sleep(poll)
        raise BenchError(f"run {run_id} did not end within {timeout:.0f} s")

    def read_log(self, run_id: str, offset: int) -> tuple[bytes, int, str]:
        """Bytes from ``offset``, the next offset and the run's status."""
        response = self.session.get(
            f"{self.url}/api/runs/{run_id}/logs", params={"offset": offset}, timeout=30
        )
        response.raise_for_status()
        next_offset = int(response.headers.get("X-Log-Offset") or offset + len(response.content))
        return response.content, next_offset, response.headers.get("X-Run-Status", "")

    def remove_images(self, references: list[str]) -> None:
        """Best effort: the engine is shared, so take away only what we made."""
        for reference in references:
            with contextlib.suppress(docker.errors.DockerException):
                self.docker.api.remove_image(reference)


def context_archive(files: Mapping[str, str]) -> bytes:
    """A gzipped tar holding ``files`` (name → text), as `drydock build` uploads."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6)


def api_time(value: str | None) -> float | None:
    """An API timestamp (ISO 8601, ``Z``) as epoch seconds."""
    return datetime.fromisoformat(value).timestamp() if value else None
