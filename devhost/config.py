"""The host's own settings, read once from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.errors import ConfigurationError
from shared.settings import API_KEY, STORAGE, azurite_connection_string

HOST_ID = "AzureFunctionsWebHost__hostid"
"""The real host's setting for the id that scopes its singleton locks."""
DEFAULT_HOST_ID = "drydock"


@dataclass(frozen=True)
class HostConfig:
    storage_connection: str
    api_key: str
    host_id: str
    environ: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HostConfig:
        env = dict(os.environ if environ is None else environ)
        host_id = env.get(HOST_ID) or DEFAULT_HOST_ID
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", host_id):
            raise ConfigurationError(f"{HOST_ID} must be 1-32 lowercase letters, digits or '-'")
        return cls(
            storage_connection=env.get(STORAGE) or azurite_connection_string(),
            api_key=env.get(API_KEY, ""),
            host_id=host_id,
            environ=env,
        )

    def connection(self, setting: str) -> str:
        """The connection string a binding's ``connection`` setting names."""
        if setting == STORAGE:
            return self.storage_connection
        value = self.environ.get(setting)
        if not value:
            raise ConfigurationError(f"connection setting {setting!r} is not set")
        return value

    def resolve(self, value: str) -> str:
        """Replace ``%Name%`` app-setting references, as the host does in bindings."""

        def setting(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in self.environ:
                raise ConfigurationError(f"app setting {name!r} is not set")
            return self.environ[name]

        return re.sub(r"%([^%]+)%", setting, value)
