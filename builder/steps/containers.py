"""The Docker side of a multi-step run: its networks, its workspace volume and
the containers of ``cmd`` steps. Engine errors are translated here, once.

No host path and no Docker socket is ever mounted: a step sees the run's
workspace volume, the task file's secret volumes (engine volumes too, mounted
read-only, removed with the run) and nothing of the builder's machine.
"""

from __future__ import annotations

import io
import logging
import secrets
import tarfile
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import IPAMConfig, IPAMPool
from docker.utils import parse_repository_tag

from shared.errors import BuildFailed, TransientError
from shared.taskfile.model import Network, SecretVolume
from shared.taskfile.networks import (
    EngineNetwork,
    NetworkPlan,
    plan_networks,
    unique_local_subnet,
)

logger = logging.getLogger(__name__)

WORKSPACE_MOUNT = "/workspace"
HELPER_IMAGE = "drydock/workspace-helper:1"
"""An empty image (``FROM scratch``), built locally: a container to copy the
context into the workspace volume, since nothing may be pulled."""
WAIT_POLL_SECONDS = 0.5
RUN_RESOURCE_LABEL = "org.drydock.run-resource"
_DOCKER_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: list[str]
    alias: str
    network: EngineNetwork
    environment: list[str] = field(default_factory=list)
    entrypoint: str | None = None
    user: str | None = None
    working_dir: str | None = None
    privileged: bool = False
    ports: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    read_only_volumes: tuple[tuple[str, str], ...] = ()
    """``(engine volume, path in the container)``: the run's secret volumes."""


class RunResources:
    """One run's networks and workspace volume, named uniquely on the engine."""

    def __init__(self, client: docker.DockerClient, run_id: str) -> None:
        self._api = client.api
        self.name = f"drydock-{run_id}-{secrets.token_hex(3)}"
        self.networks: NetworkPlan = plan_networks((), self.name)
        self.volume = f"{self.name}-workspace"
        self._secret_volumes: dict[str, str] = {}
        self._created_networks: list[str] = []
        self._detached: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def create(
        self,
        context_dir: Path,
        secret_volumes: Sequence[SecretVolume] = (),
        networks: Sequence[Network] = (),
        allow_host_network: bool = False,
    ) -> None:
        self.networks = plan_networks(networks, self.name)
        try:
            for network in self.networks.networks:
                self._prepare_network(network, allow_host_network)
            self._api.create_volume(self.volume, labels=run_resource_labels())
            self._fill(self.volume, _tar_of(context_dir))
            for index, secret in enumerate(secret_volumes):
                # Task-file volume names are free text; engine names are ours.
                volume = self._secret_volumes[secret.name] = f"{self.name}-secret-{index}"
                self._api.create_volume(volume, labels=run_resource_labels())
                self._fill(volume, _tar_of_files(secret.files))
        except docker.errors.APIError as exc:
            if exc.is_client_error():  # a driver the engine lacks, an IPv6 pool clash…
                raise BuildFailed(f"cannot prepare the run: {exc.explanation or exc}") from exc
            raise TransientError(f"cannot prepare the run's networks and volumes: {exc}") from exc
        except _DOCKER_ERRORS as exc:
            raise TransientError(f"cannot prepare the run's networks and volumes: {exc}") from exc

    def _prepare_network(self, network: EngineNetwork, allow_host: bool) -> None:
        if not network.created:
            _check_existing_network(self._inspect_existing(network.engine_name), allow_host)
            return
        ipv6 = bool(network.declared and network.declared.ipv6)
        subnet = unique_local_subnet(secrets.token_bytes(7)) if ipv6 else None
        self._api.create_network(
            network.engine_name,
            driver=(network.declared and network.declared.driver) or "bridge",
            enable_ipv6=ipv6,
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]) if subnet else None,
            labels=run_resource_labels(),
        )
        self._created_networks.append(network.engine_name)

    def _inspect_existing(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._api.inspect_network(name))
        except docker.errors.NotFound:
            raise BuildFailed(
                f"network {name!r} is marked skipCreation but the engine has no such network"
            ) from None

    def secret_volume(self, name: str) -> str:
        """The engine volume holding the task file's secret volume ``name``."""
        return self._secret_volumes[name]

    def _fill(self, volume: str, archive: bytes) -> None:
        self._ensure_helper_image()
        binds = {volume: {"bind": WORKSPACE_MOUNT, "mode": "rw"}}
        helper = self._api.create_container(
            HELPER_IMAGE,
            command=["/none"],
            host_config=self._api.create_host_config(binds=binds, network_mode="none"),
            labels=run_resource_labels(),
        )
        try:
            self._api.put_archive(helper["Id"], WORKSPACE_MOUNT, archive)
        finally:
            self._api.remove_container(helper["Id"], force=True)

    def _ensure_helper_image(self) -> None:
        with suppress(docker.errors.ImageNotFound):
            self._api.inspect_image(HELPER_IMAGE)
            return
        dockerfile = io.BytesIO(b"FROM scratch\nLABEL org.drydock.helper=workspace\n")
        for _ in self._api.build(fileobj=dockerfile, tag=HELPER_IMAGE, rm=True, decode=True):
            pass

    def detached(self, container_id: str, keep: bool) -> None:
        with self._lock:
            self._detached.append((container_id, keep))

    def remove(self) -> None:
        """Best effort: a leftover must not turn a finished run into a failure."""
        for container_id, keep in self._detached:
            if keep:
                self._leave_networks(container_id)
                continue
            with suppress(*_DOCKER_ERRORS):
                self._api.remove_container(container_id, force=True)
        for network in self._created_networks:
            with suppress(*_DOCKER_ERRORS):
                self._api.remove_network(network)
        if not any(keep for _, keep in self._detached):  # a kept one still mounts the volumes
            for volume in (self.volume, *self._secret_volumes.values()):
                with suppress(*_DOCKER_ERRORS):
                    self._api.remove_volume(volume, force=True)

    def _leave_networks(self, container_id: str) -> None:
        """A kept container stays, but off the networks the run created, so they can go."""
        for network in self._created_networks:
            with suppress(*_DOCKER_ERRORS):
                self._api.disconnect_container_from_network(container_id, network)


class Containers:
    """Runs step containers on the run's networks with the workspace mounted."""

    def __init__(self, client: docker.DockerClient, resources: RunResources) -> None:
        self._api = client.api
        self._resources = resources

    def has_image(self, image: str) -> bool:
        try:
            self._api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return False
        except _DOCKER_ERRORS as exc:
            raise TransientError(f"cannot inspect {image}: {exc}") from exc
        return True

    def pull(self, image: str, on_output: Callable[[str], None]) -> None:
        repository, tag = parse_repository_tag(image)
        on_output(f"Pulling {image}")
        try:
            for chunk in self._api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("errorDetail") or {}
                    raise BuildFailed(
                        f"pull of {image} failed: {detail.get('message') or chunk.get('error')}"
                    )
        except docker.errors.APIError as exc:
            raise BuildFailed(f"pull of {image} failed: {exc.explanation or exc}") from exc
        except _DOCKER_ERRORS as exc:
            raise TransientError(f"the Docker Engine failed pulling {image}: {exc}") from exc

    def start(self, spec: ContainerSpec) -> str:
        try:
            container = self._api.create_container(**self._create_args(spec))
            self._api.start(container["Id"])
        except docker.errors.APIError as exc:
            raise BuildFailed(f"cannot start {spec.image}: {exc.explanation or exc}") from exc
        except _DOCKER_ERRORS as exc:
            raise TransientError(f"the Docker Engine failed starting {spec.image}: {exc}") from exc
        return str(container["Id"])

    def _create_args(self, spec: ContainerSpec) -> dict[str, Any]:
        network = spec.network.engine_name
        ports = [_container_port(port) for port in (*spec.ports, *spec.expose)]
        return {
            "image": spec.image,
            "command": spec.command or None,
            "name": spec.name,
            "entrypoint": spec.entrypoint,
            "environment": spec.environment,
            "user": spec.user or None,
            "working_dir": spec.working_dir,
            "ports": ports or None,
            "labels": run_resource_labels(),
            "host_config": self._api.create_host_config(
                binds={
                    self._resources.volume: {"bind": WORKSPACE_MOUNT, "mode": "rw"},
                    **{
                        volume: {"bind": path, "mode": "ro"}
                        for volume, path in spec.read_only_volumes
                    },
                },
                network_mode=network,
                privileged=spec.privileged,
                port_bindings=dict(_port_binding(port) for port in spec.ports) or None,
            ),
            "networking_config": self._api.create_networking_config(
                {network: self._api.create_endpoint_config(aliases=[spec.alias])}
            )
            if spec.network.takes_aliases
            else None,
        }

    def follow_output(self, container_id: str, on_line: Callable[[str], None]) -> threading.Thread:
        def read() -> None:
            partial = b""
            with suppress(*_DOCKER_ERRORS):
                for chunk in self._api.logs(container_id, stream=True, follow=True):
                    *lines, partial = (partial + chunk).split(b"\n")
                    for line in lines:
                        on_line(line.decode("utf-8", errors="replace").rstrip("\r"))
            if partial:
                on_line(partial.decode("utf-8", errors="replace"))

        thread = threading.Thread(target=read, name=f"logs-{container_id[:12]}", daemon=True)
        thread.start()
        return thread

    def wait(self, container_id: str, should_stop: Callable[[], bool]) -> int | None:
        """The exit code, or None once ``should_stop`` said so (the container is killed)."""
        while True:
            if should_stop():
                with suppress(*_DOCKER_ERRORS):
                    self._api.kill(container_id)
                return None
            try:
                result = self._api.wait(container_id, timeout=WAIT_POLL_SECONDS)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                continue
            except _DOCKER_ERRORS as exc:
                raise TransientError(f"the Docker Engine failed waiting: {exc}") from exc
            return int(result.get("StatusCode", -1))

    def remove(self, container_id: str) -> None:
        with suppress(*_DOCKER_ERRORS):
            self._api.remove_container(container_id, force=True)


def run_resource_labels() -> dict[str, str]:
    """The label of every network, volume and container a run creates."""
    return {RUN_RESOURCE_LABEL: "true"}


def _check_existing_network(attrs: dict[str, Any], allow_host: bool) -> None:
    """A ``skipCreation`` network is joined as the engine has it: never another
    run's, and the host's own network only where privileged steps are allowed
    (a step there reaches every service listening on the engine's loopback)."""
    name = attrs.get("Name", "?")
    if RUN_RESOURCE_LABEL in (attrs.get("Labels") or {}):
        raise BuildFailed(f"network {name!r} belongs to another run; it cannot be joined")
    if attrs.get("Driver") == "host" and not allow_host:
        raise BuildFailed(
            f"network {name!r} is the engine host's own network; refused unless the "
            "builder setting DRYDOCK_ALLOW_PRIVILEGED allows privileged steps"
        )


def _container_port(text: str) -> str:
    port = text.rsplit(":", 1)[-1]
    return port if "/" in port else f"{port}/tcp"


def _port_binding(text: str) -> tuple[str, Any]:
    host, sep, container = text.rpartition(":")
    return _container_port(container), (int(host) if sep and host.isdigit() else None)


def _tar_of(context_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(context_dir.iterdir()):
            archive.add(str(path), arcname=path.name)
    return buffer.getvalue()


def _tar_of_files(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Secret files, readable by any user a step runs as, writable by none."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o444
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
