"""Where the CLI finds the API: read once per invocation, flags over environment over files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

URL_ENV = "DRYDOCK_URL"
"""Base URL of the Functions host; the API lives under ``/api``."""
DEFAULT_URL = "http://127.0.0.1:7071"
"""The local stack's Functions host."""

API_KEY_ENV = "DRYDOCK_API_KEY"
"""The REST API key, sent as ``x-functions-key``."""
API_KEY_FILE = Path(".data") / "api-key"
"""Where the local stack keeps the key it generated on first start."""

# The repository this package lives in, for an editable install run from elsewhere.
_REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CliSettings:
    url: str
    api_key: str | None

    def __repr__(self) -> str:  # never show the key in a traceback or a log
        return f"CliSettings(url={self.url!r}, api_key={'***' if self.api_key else None})"


def resolve_settings(
    url: str | None,
    api_key: str | None,
    environ: dict[str, str] | os._Environ[str] = os.environ,
    cwd: Path | None = None,
) -> CliSettings:
    """Flags first, then the environment, then ``.data/api-key`` here or in the repository."""
    resolved_url = url or environ.get(URL_ENV) or DEFAULT_URL
    key = api_key or environ.get(API_KEY_ENV) or _read_key_file(cwd or Path.cwd())
    return CliSettings(url=resolved_url.rstrip("/"), api_key=key or None)


def _read_key_file(cwd: Path) -> str | None:
    for candidate in (cwd / API_KEY_FILE, _REPOSITORY_ROOT / API_KEY_FILE):
        try:
            key = candidate.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if key:
            return key
    return None
