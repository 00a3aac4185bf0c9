"""Azure Container Registry logins through Microsoft Entra ID (azure-identity).

ACR speaks the same Bearer-token protocol as other registries, but its token
service wants an ACR refresh token as the password of the all-zero user. That
refresh token comes from exchanging an Entra access token at
``https://<registry>/oauth2/exchange`` (ACR's documented AAD flow, what
``az acr login --expose-token`` does). With a managed identity holding AcrPull,
polling needs no stored secret at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from shared.errors import TransientError
from shared.registry.client import Credential, CredentialLookup

ACR_SUFFIX = ".azurecr.io"
ACR_USER = "00000000-0000-0000-0000-000000000000"
ARM_SCOPE = "https://management.azure.com/.default"
REFRESH_LIFETIME_SECONDS = 2.5 * 3600  # ACR refresh tokens live about three hours


class TokenCredential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def default_credential() -> TokenCredential | None:
    """DefaultAzureCredential (managed identity, workload identity, CLI…), if installed."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return None
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


class AcrLogin:
    """A CredentialLookup for ``*.azurecr.io`` that falls back to ``other``."""

    def __init__(
        self,
        credential: TokenCredential | None,
        other: CredentialLookup,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 15.0,
        is_acr: Callable[[str], bool] = lambda registry: registry.endswith(ACR_SUFFIX),
        base_url: Callable[[str], str] = lambda registry: f"https://{registry}",
    ) -> None:
        self._credential = credential
        self._other = other
        self._is_acr = is_acr
        self._base_url = base_url
        self._clock = clock
        self._timeout = timeout
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, registry: str) -> Credential | None:
        configured = self._other(registry)
        if configured or self._credential is None or not self._is_acr(registry):
            return configured
        return Credential(ACR_USER, self._refresh_token(registry))

    def _refresh_token(self, registry: str) -> str:
        with self._lock:
            cached = self._cache.get(registry)
            if cached and cached[1] > self._clock():
                return cached[0]
            token = self._exchange(registry)
            self._cache[registry] = (token, self._clock() + REFRESH_LIFETIME_SECONDS)
            return token

    def _exchange(self, registry: str) -> str:
        assert self._credential is not None
        access = self._credential.get_token(ARM_SCOPE).token
        form = {"grant_type": "access_token", "service": registry, "access_token": access}
        try:
            answer = requests.post(f"{self._base_url(registry)}/oauth2/exchange", data=form,
                                   timeout=self._timeout)  # fmt: skip
        except requests.RequestException as exc:
            raise TransientError(f"ACR {registry} token exchange failed: {exc}") from exc
        if answer.status_code != 200:
            raise TransientError(f"ACR {registry} token exchange answered {answer.status_code}")
        return str(answer.json()["refresh_token"])
