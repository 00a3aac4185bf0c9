"""Where each local stack lives (`run` or `test`) and the settings it hands its parts."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from supervise import StackError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from shared import settings as names  # noqa: E402 - needs the repository on sys.path

VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def relative(path: Path) -> str:
    """`path` as shown to the user: relative to the repository when inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Profile:
    """Where one stack lives: its ports and its data directory."""

    name: str
    data: Path
    host_port: int
    registry_port: int
    azurite_port: int
    wipe: bool
    """Start from empty storage (the test stack) rather than keep data (`run`)."""
    port_hint: bool
    """A taken port can be moved with a setting (`run`); the test stack's ports are fixed."""

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    @property
    def host_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"


def run_profile(environ: dict[str, str]) -> Profile:
    return Profile(
        name="run",
        data=REPO / ".data",
        host_port=_port(environ, "DRYDOCK_HOST_PORT", 7071),
        registry_port=_port(environ, "DRYDOCK_REGISTRY_PORT", 5000),
        azurite_port=_port(environ, "DRYDOCK_AZURITE_BLOB_PORT", 10000),
        wipe=False,
        port_hint=True,
    )


def test_profile() -> Profile:
    return Profile(
        name="test",
        data=REPO / ".data" / "test",
        host_port=7072,
        registry_port=5050,
        azurite_port=10010,
        wipe=True,
        port_hint=False,
    )


def bench_profile() -> Profile:
    """The benchmark stack (`stack.py bench`): like the test stack, on its own ports."""
    return Profile(
        name="bench",
        data=REPO / ".data" / "bench",
        host_port=7073,
        registry_port=5060,
        azurite_port=10030,
        wipe=True,
        port_hint=False,
    )


def _port(environ: dict[str, str], name: str, default: int) -> int:
    value = environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65534:
        raise StackError(f"{name} must be a port number, got {value!r}")
    return int(value)


# ---- settings -------------------------------------------------------------


def read_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, generated (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_secret(path, secrets.token_urlsafe(32))


def _write_secret(path: Path, value: str) -> str:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    return value


def run_settings(profile: Profile, environ: dict[str, str]) -> dict[str, str]:
    """The contract settings for `run`: the environment wins over local defaults."""
    local = {
        names.STORAGE: names.azurite_connection_string(blob_port=profile.azurite_port),
        names.REGISTRY: f"localhost:{profile.registry_port}",
        names.ALLOW_PRIVATE_NETWORKS: "true",
        **_schedule_defaults(),
    }
    resolved = {name: environ.get(name) or default for name, default in local.items()}
    resolved[names.API_KEY] = environ.get(names.API_KEY) or read_or_create_secret(
        profile.data / "api-key"
    )
    resolved[names.WEBHOOK_SECRET] = environ.get(names.WEBHOOK_SECRET) or read_or_create_secret(
        profile.data / "webhook-secret"
    )
    return resolved


def test_settings(profile: Profile, environ: dict[str, str]) -> dict[str, str]:
    """The test stack's own settings: fresh secrets, never a developer's values."""
    profile.data.mkdir(parents=True, exist_ok=True)
    registry = f"localhost:{profile.registry_port}"
    return {
        **{name: environ.get(name) or value for name, value in _schedule_defaults().items()},
        names.STORAGE: names.azurite_connection_string(blob_port=profile.azurite_port),
        names.REGISTRY: registry,
        "DRYDOCK_TEST_REGISTRY": registry,
        "DRYDOCK_URL": profile.host_url,
        names.API_KEY: _write_secret(profile.data / "api-key", secrets.token_urlsafe(32)),
        names.WEBHOOK_SECRET: _write_secret(
            profile.data / "webhook-secret", secrets.token_urlsafe(32)
        ),
        names.ALLOW_PRIVATE_NETWORKS: "true",
    }


def bench_settings(profile: Profile, environ: dict[str, str]) -> dict[str, str]:
    """The benchmark stack's settings: the test stack's kind (fresh secrets), its own ports."""
    return test_settings(profile, environ)


def _schedule_defaults() -> dict[str, str]:
    keys = (names.BASE_IMAGE_POLL_SCHEDULE, names.RETENTION_SCHEDULE, names.LOG_RETENTION_DAYS)
    # Polling an idle queue costs nothing on Azurite, and pickup latency is part of
    # every build's wall time: poll faster than the production default.
    return {**{key: names.DEFAULTS[key] for key in keys}, names.BUILDER_IDLE_POLL_MS: "25"}
