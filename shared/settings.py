"""Drydock's settings: every name, its meaning and its local default, in one place.

Settings are read once from the environment into a frozen dataclass
(``Settings.from_env``) and validated there, so a bad value fails at start
rather than on the first request that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.errors import ConfigurationError

AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_connection_string(host: str = "127.0.0.1", blob_port: int = 10000) -> str:
    """Connection string for Azurite with blob, queue and table on consecutive ports."""
    base = f"http://{host}:{{port}}/devstoreaccount1"
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_ACCOUNT_KEY};"
        f"BlobEndpoint={base.format(port=blob_port)};"
        f"QueueEndpoint={base.format(port=blob_port + 1)};"
        f"TableEndpoint={base.format(port=blob_port + 2)};"
    )


STORAGE = "AzureWebJobsStorage"
"""Storage connection string. Local default: Azurite's development storage."""
REGISTRY = "DRYDOCK_REGISTRY"
"""Default registry login server; bare image names go there. Local: ``localhost:5000``."""
API_KEY = "DRYDOCK_API_KEY"
"""Key for the REST API. Local: generated on first start into ``.data/api-key``."""
WEBHOOK_SECRET = "DRYDOCK_WEBHOOK_SECRET"
"""Shared secret for Git and registry webhooks. Local: ``.data/webhook-secret``."""
BASE_IMAGE_POLL_SCHEDULE = "DRYDOCK_BASE_IMAGE_POLL_SCHEDULE"
"""NCRONTAB of the base-image poll. Default every five minutes."""
RETENTION_SCHEDULE = "DRYDOCK_RETENTION_SCHEDULE"
"""NCRONTAB of log retention. Default 03:00 UTC daily."""
LOG_RETENTION_DAYS = "DRYDOCK_LOG_RETENTION_DAYS"
"""Days a finished run and its log are kept unless archived; decimals allowed."""
ALLOW_PRIVATE_NETWORKS = "DRYDOCK_ALLOW_PRIVATE_NETWORKS"
"""Allow loopback/private addresses for contexts, targets and registries (never link-local)."""
BUILDER_CONCURRENCY = "DRYDOCK_BUILDER_CONCURRENCY"
"""Runs one builder process works on at once. Default 2."""
ALLOW_PRIVILEGED = "DRYDOCK_ALLOW_PRIVILEGED"
"""Let ``cmd`` steps with ``privileged: true`` run. Default false: a privileged
container owns the engine's host, and with it every other run on it."""
BUILDER_LEASE_SECONDS = "DRYDOCK_BUILDER_LEASE_SECONDS"
"""How long a builder's hold on a run (its queue message and the run's lease) lasts
without renewal; renewed every third of it. A builder killed mid-run is replaced
after about this long. Default 60; tests shorten it."""
BUILDER_IDLE_POLL_MS = "DRYDOCK_BUILDER_IDLE_POLL_MS"
"""Longest wait between queue polls of an idle builder, in milliseconds. Pickup
latency is part of every build's wall time, but each poll is a storage
transaction: 100 ms is about 0.9 M transactions a day per idle builder on Azure.
Default 100; the local stack uses 25."""

DEFAULTS: Mapping[str, str] = {
    REGISTRY: "localhost:5000",
    BASE_IMAGE_POLL_SCHEDULE: "0 */5 * * * *",
    RETENTION_SCHEDULE: "0 0 3 * * *",
    LOG_RETENTION_DAYS: "30",
    ALLOW_PRIVATE_NETWORKS: "false",
    BUILDER_CONCURRENCY: "2",
    BUILDER_LEASE_SECONDS: "60",
    ALLOW_PRIVILEGED: "false",
    BUILDER_IDLE_POLL_MS: "100",
}

MAX_BUILD_BODY_BYTES = 100 * 1024 * 1024
"""Largest accepted ``POST /api/builds`` body (the Functions host's own limit too)."""
MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024
"""Largest accepted webhook body (GitHub caps payloads at 25 MB)."""


@dataclass(frozen=True)
class Settings:
    storage_connection: str
    registry: str
    api_key: str
    webhook_secret: str
    base_image_poll_schedule: str
    retention_schedule: str
    log_retention_days: float
    allow_private_networks: bool
    builder_concurrency: int
    builder_lease_seconds: float = 60.0
    allow_privileged: bool = False
    builder_idle_poll_seconds: float = 0.1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = {**DEFAULTS, **(os.environ if environ is None else environ)}
        return cls(
            storage_connection=_storage(env.get(STORAGE, "")),
            registry=_registry(env[REGISTRY]),
            api_key=env.get(API_KEY, ""),
            webhook_secret=env.get(WEBHOOK_SECRET, ""),
            base_image_poll_schedule=env[BASE_IMAGE_POLL_SCHEDULE],
            retention_schedule=env[RETENTION_SCHEDULE],
            log_retention_days=_positive_float(LOG_RETENTION_DAYS, env[LOG_RETENTION_DAYS]),
            allow_private_networks=_boolean(ALLOW_PRIVATE_NETWORKS, env[ALLOW_PRIVATE_NETWORKS]),
            builder_concurrency=int(_positive_float(BUILDER_CONCURRENCY, env[BUILDER_CONCURRENCY])),
            builder_lease_seconds=_positive_float(
                BUILDER_LEASE_SECONDS, env[BUILDER_LEASE_SECONDS]
            ),
            allow_privileged=_boolean(ALLOW_PRIVILEGED, env[ALLOW_PRIVILEGED]),
            builder_idle_poll_seconds=_positive_float(
                BUILDER_IDLE_POLL_MS, env[BUILDER_IDLE_POLL_MS]
            )
            / 1000,
        )


def _storage(value: str) -> str:
    # The Tables SDK does not understand the emulator shorthand; spell it out.
    if not value or value.replace(" ", "").lower() == "usedevelopmentstorage=true":
        return azurite_connection_string()
    return value


def _registry(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value or "/" in value or "://" in value:
        raise ConfigurationError(f"{REGISTRY} must be a login server like 'myreg.azurecr.io'")
    return value


def _positive_float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value!r}")
    return number


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")
