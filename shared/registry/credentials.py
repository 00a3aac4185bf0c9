"""Registry logins from settings, by the names of the settings that hold them.

``DRYDOCK_REGISTRY_CREDENTIALS`` is a JSON object from login server to the
names of two other settings (in Azure, Key Vault references):
``{"ghcr.io": {"usernameSetting": "GHCR_USER", "passwordSetting": "GHCR_TOKEN"}}``.
Values are read when needed, so a rotated secret is picked up without a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from shared.errors import ConfigurationError
from shared.registry.client import Credential, CredentialLookup

SETTING = "DRYDOCK_REGISTRY_CREDENTIALS"


def credential_lookup(environ: Mapping[str, str]) -> CredentialLookup:
    names = _parse(environ.get(SETTING, ""))

    def lookup(registry: str) -> Credential | None:
        entry = names.get(registry.lower())
        if entry is None:
            return None
        username, password = environ.get(entry[0], ""), environ.get(entry[1], "")
        return Credential(username, password) if password else None

    return lookup


def _parse(text: str) -> dict[str, tuple[str, str]]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
        return {
            str(server).lower(): (str(entry["usernameSetting"]), str(entry["passwordSetting"]))
            for server, entry in data.items()
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ConfigurationError(
            f"{SETTING} must be a JSON object like "
            '{"ghcr.io": {"usernameSetting": "GHCR_USER", "passwordSetting": "GHCR_TOKEN"}}'
        ) from None
