"""From the loaded YAML tree to a ``TaskFile``, refusing faults with their line.

Property names and defaults are those of ACR's task-file reference. Everything
is checked before anything runs: a typo in the last step must not surface
after the first step has already pushed an image.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from shared.errors import InvalidRequest
from shared.taskfile import fields as f
from shared.taskfile.docker_args import parse_build_arguments, split_arguments
from shared.taskfile.graph import check_acyclic, resolve_when
from shared.taskfile.model import (
    DEFAULT_STEP_TIMEOUT,
    DEFAULT_VERSION,
    VERSIONS,
    WORKSPACE,
    Network,
    SecretVolume,
    Step,
    TaskFile,
)
from shared.taskfile.networks import DEFAULT_NETWORK
from shared.taskfile.yaml_loader import LineMap


class _Named(Protocol):
    @property
    def name(self) -> str: ...


Named = TypeVar("Named", bound=_Named)

MAX_STEPS = 256
TOP_LEVEL = frozenset({"version", "alias", "stepTimeout", "totalTimeout", "workingDirectory",
                       "env", "secrets", "networks", "volumes", "steps"})  # fmt: skip
STEP_TYPES = ("build", "push", "cmd")
STEP_PROPERTIES = frozenset({
    "id", "when", "env", "timeout", "startDelay", "retries", "retryDelay", "repeat",
    "ignoreErrors", "detach", "keep", "ports", "expose", "entryPoint", "user",
    "workingDirectory", "network", "privileged", "disableWorkingDirectoryOverride",
    "pull", "isolation", "cache", "volumeMounts", *STEP_TYPES,
})  # fmt: skip
_STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# Docker's rules for network names; driver names may be plugins' ("org/net:1.0").
_NETWORK_NAME = _STEP_ID
_DRIVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")


def validate_task_file(tree: Any) -> TaskFile:
    if not isinstance(tree, LineMap):
        raise InvalidRequest("line 1: a task file is a YAML object with 'version' and 'steps'")
    f.check_keys(tree, TOP_LEVEL, "task")
    version = f.text(tree, "version", DEFAULT_VERSION) or DEFAULT_VERSION
    if version not in VERSIONS:
        raise f.fail(tree.line_of("version"), f"version {version!r} is unknown; use {VERSIONS}")
    step_timeout = f.whole(tree, "stepTimeout", DEFAULT_STEP_TIMEOUT, low=1)
    volumes = _volumes(f.mappings(tree, "volumes"))
    networks = _networks(f.mappings(tree, "networks"))
    steps = _with_declared_volumes(_steps(tree, step_timeout), volumes)
    return TaskFile(
        version=version,
        step_timeout=step_timeout,
        total_timeout=f.whole(tree, "totalTimeout", 0, low=0) or None,
        working_directory=f.text(tree, "workingDirectory"),
        env=f.env_list(tree, "env"),
        secret_ids=tuple(_secret_id(item) for item in f.mappings(tree, "secrets")),
        networks=networks,
        volumes=volumes,
        steps=_with_declared_networks(steps, networks),
    )


def _steps(tree: LineMap, step_timeout: int) -> tuple[Step, ...]:
    items = f.mappings(tree, "steps")
    if not items:
        raise f.fail(tree.line_of("steps"), "the task file has no steps")
    if len(items) > MAX_STEPS:
        raise f.fail(tree.line_of("steps"), f"more than {MAX_STEPS} steps")
    ids = [f.text(item, "id") or f"acb_step_{index}" for index, item in enumerate(items)]
    for index, (item, step_id) in enumerate(zip(items, ids, strict=True)):
        if not _STEP_ID.match(step_id):
            raise f.fail(item.line_of("id"), f"step id {step_id!r} must be letters, digits, . _ -")
        if step_id in ids[:index]:
            raise f.fail(item.line_of("id"), f"step id {step_id!r} is used twice")
    whens = resolve_when(ids, [item.line for item in items], [_when(item) for item in items])
    steps = tuple(
        _step(item, step_id, when, step_timeout)
        for item, step_id, when in zip(items, ids, whens, strict=True)
    )
    check_acyclic(steps)
    return steps


def _when(item: LineMap) -> tuple[str, ...] | None:
    if "when" not in item:
        return None
    return f.texts(item, "when")


def _step(item: LineMap, step_id: str, when: tuple[str, ...], step_timeout: int) -> Step:
    f.check_keys(item, STEP_PROPERTIES, "step")
    kinds = [kind for kind in STEP_TYPES if kind in item]
    if len(kinds) != 1:
        raise f.fail(item.line, "each step has exactly one of build, push or cmd")
    return Step(
        id=step_id,
        line=item.line,
        **_action(item, kinds[0]),
        when=when,
        env=f.env_list(item, "env"),
        timeout=f.whole(item, "timeout", step_timeout, low=1),
        start_delay=f.whole(item, "startDelay", 0),
        retries=f.whole(item, "retries", 0, high=f.MAX_REPEATS),
        retry_delay=f.whole(item, "retryDelay", 0),
        repeat=f.whole(item, "repeat", 0, high=f.MAX_REPEATS),
        ignore_errors=f.flag(item, "ignoreErrors"),
        detach=f.flag(item, "detach"),
        keep=f.flag(item, "keep"),
        ports=f.texts(item, "ports"),
        expose=f.texts(item, "expose"),
        entry_point=f.text(item, "entryPoint"),
        user=f.text(item, "user"),
        working_directory=f.text(item, "workingDirectory"),
        network=f.text(item, "network"),
        privileged=f.flag(item, "privileged"),
        disable_working_directory_override=f.flag(item, "disableWorkingDirectoryOverride"),
        pull=f.flag(item, "pull"),
        isolation=f.text(item, "isolation"),
        cache=f.text(item, "cache"),
        volume_mounts=tuple(_volume_mount(mount) for mount in f.mappings(item, "volumeMounts")),
    )


def _action(item: LineMap, kind: str) -> dict[str, Any]:
    line = item.line_of(kind)
    if kind == "push":
        images = f.texts(item, "push")
        if not images or any(not image.strip() for image in images):
            raise f.fail(line, "push lists the images to push, such as [$Registry/app:$ID]")
        return {"push": images}
    value = f.text(item, kind)
    if not value or not value.strip():
        raise f.fail(line, f"{kind} needs its arguments, such as {_EXAMPLES[kind]!r}")
    if kind == "build":
        return {"build": parse_build_arguments(value, line)}
    return {"cmd": tuple(split_arguments(value, line, "cmd"))}


_EXAMPLES = {"build": "-t app:$ID .", "cmd": "busybox echo hello"}


def _secret_id(item: LineMap) -> str:
    f.check_keys(item, frozenset({"id", "keyvault", "clientID", "akv"}), "secret")
    secret_id = f.text(item, "id")
    if not secret_id:
        raise f.fail(item.line, "each secret needs an id")
    return secret_id


def _networks(items: list[LineMap]) -> tuple[Network, ...]:
    return _unique_by_name(items, _network, "network")


def _network(item: LineMap) -> Network:
    known = frozenset({"name", "driver", "ipv6", "skipCreation", "isDefault"})
    f.check_keys(item, known, "network")
    name, driver = f.text(item, "name"), f.text(item, "driver")
    if not name:
        raise f.fail(item.line, "each network needs a name")
    if not _NETWORK_NAME.match(name):
        raise f.fail(item.line_of("name"), f"network name {name!r} must be letters, digits, . _ -")
    if driver is not None and not _DRIVER.match(driver):
        raise f.fail(item.line_of("driver"), f"network driver {driver!r} is not a driver name")
    return Network(
        name=name,
        driver=driver,
        ipv6=f.flag(item, "ipv6"),
        skip_creation=f.flag(item, "skipCreation"),
        is_default=f.flag(item, "isDefault"),
    )


def _with_declared_networks(
    steps: tuple[Step, ...], networks: tuple[Network, ...]
) -> tuple[Step, ...]:
    """A step joins a declared network, or the run's default one: naming an
    engine network (``host``, another run's) is not a step's choice to make."""
    declared = {network.name for network in networks}
    for step in steps:
        if step.network and step.network not in declared and step.network != DEFAULT_NETWORK:
            raise f.fail(
                step.line,
                f"step {step.id}: network {step.network!r} is not in networks; "
                "declare it there (skipCreation: true for one the engine already has)",
            )
    return steps


def _volumes(items: list[LineMap]) -> tuple[SecretVolume, ...]:
    return _unique_by_name(items, _volume, "volume")


def _unique_by_name(
    items: list[LineMap], parse: Callable[[LineMap], Named], kind: str
) -> tuple[Named, ...]:
    """Each item parsed; a name declared twice is refused on its second line."""
    parsed: dict[str, Named] = {}
    for item in items:
        value = parse(item)
        if value.name in parsed:
            raise f.fail(item.line, f"{kind} {value.name!r} is declared twice")
        parsed[value.name] = value
    return tuple(parsed.values())


def _volume(item: LineMap) -> SecretVolume:
    f.check_keys(item, frozenset({"name", "secret"}), "volume")
    name = f.text(item, "name")
    if not name:
        raise f.fail(item.line, "each volume needs a name")
    secret = item.get("secret")
    if not isinstance(secret, LineMap) or not secret:
        raise f.fail(item.line, f"volume {name!r} needs a secret: a map of file names to base64")
    return SecretVolume(name, tuple(_secret_file(secret, key) for key in secret))


def _secret_file(secret: LineMap, key: str) -> tuple[str, bytes]:
    line = secret.line_of(key)
    if not _FILE_NAME.fullmatch(key) or key in (".", ".."):
        raise f.fail(line, f"secret key {key!r} must be a file name (letters, digits, '.-_')")
    value = secret[key]
    try:
        return key, base64.b64decode(value if isinstance(value, str) else "", validate=True)
    except binascii.Error:
        raise f.fail(line, f"secret key {key!r}: the value must be base64") from None


_FILE_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")


def _volume_mount(item: LineMap) -> tuple[str, str]:
    f.check_keys(item, frozenset({"name", "mountPath"}), "volumeMounts")
    name, path = f.text(item, "name"), f.text(item, "mountPath")
    if not name or not path:
        raise f.fail(item.line, "each volumeMounts entry needs a name and a mountPath")
    clean = posixpath.normpath(path)
    if not clean.startswith("/") or clean == "/" or clean.startswith("//"):
        raise f.fail(item.line, f"mountPath {path!r} must be an absolute path other than /")
    if clean == WORKSPACE or clean.startswith(WORKSPACE + "/"):
        raise f.fail(item.line, f"mountPath {path!r} is inside the workspace, {WORKSPACE}")
    return name, clean


def _with_declared_volumes(
    steps: tuple[Step, ...], volumes: tuple[SecretVolume, ...]
) -> tuple[Step, ...]:
    declared = {volume.name for volume in volumes}
    for step in steps:
        names = [name for name, _ in step.volume_mounts]
        paths = [path for _, path in step.volume_mounts]
        if step.volume_mounts and not step.cmd:
            raise f.fail(step.line, f"step {step.id}: volumeMounts apply to cmd steps only")
        if unknown := [name for name in names if name not in declared]:
            raise f.fail(step.line, f"step {step.id}: volume {unknown[0]!r} is not in volumes")
        if len(set(paths)) != len(paths):
            raise f.fail(step.line, f"step {step.id}: two volumeMounts share one mountPath")
    return steps
