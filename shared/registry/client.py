"""Reading what a tag points at, from any OCI Distribution registry.

Auth as registries ask for it: anonymous first; on a 401 the challenge says
how — a Bearer token from the realm (Docker Hub, GHCR, MCR, Quay, Distribution
with token auth; cached until it expires) or Basic credentials. Credentials
come from settings by registry host. Rate limits back the registry off until
its ``Retry-After``; every failure is an error, never a change.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests

from shared.errors import NotFound, TransientError
from shared.image_ref import ImageRef
from shared.registry.challenge import Challenge, parse_challenge
from shared.registry.manifests import ACCEPT, ManifestDigest, digest_of, is_index, platform_manifest

DEFAULT_BACKOFF_SECONDS = 60.0
MAX_PER_REGISTRY = 8
_API_HOSTS = {"docker.io": "registry-1.docker.io"}


@dataclass(frozen=True)
class Credential:
    username: str
    password: str


CredentialLookup = Callable[[str], Credential | None]


class RateLimited(TransientError):
    """The registry asked us to slow down; ``until`` is a clock() time."""

    def __init__(self, registry: str, until: float) -> None:
        super().__init__(f"registry {registry} is rate limiting us; backing off")
        self.until = until


def is_loopback_registry(registry: str) -> bool:
    if registry.startswith("["):
        host = registry[1:].split("]", 1)[0]
    else:
        host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class RegistryClient:
    def __init__(
        self,
        credentials: CredentialLookup | None = None,
        insecure: Callable[[str], bool] = is_loopback_registry,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 15.0,
    ) -> None:
        self._credentials = credentials or (lambda _registry: None)
        self._insecure = insecure
        self._clock = clock
        self._timeout = timeout
        self._session = requests.Session()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._basic_registries: set[str] = set()
        self._lock = threading.Lock()
        self.requests_made = 0  # manifest requests, for the one-request-per-reference promise

    def manifest_digest(
        self, ref: ImageRef, platform: str = "linux/amd64", known: ManifestDigest | None = None
    ) -> ManifestDigest:
        """What ``ref``'s tag points at now: one HEAD when nothing moved (``known``
        is the last answer), a GET only for an index that moved or no digest header."""
        with self._slot(ref.registry):
            self._check_backoff(ref.registry)
            head = self._send("HEAD", ref)
            media_type = head.headers.get("Content-Type", "")
            digest = head.headers.get("Docker-Content-Digest")
            if digest and not is_index(media_type):
                return ManifestDigest(digest, None, media_type)
            if digest and known is not None and known.digest == digest:
                return known
            body = self._send("GET", ref)
            media_type = body.headers.get("Content-Type", media_type)
            digest = body.headers.get("Docker-Content-Digest") or digest_of(body.content)
            chosen = platform_manifest(body.content, platform) if is_index(media_type) else None
            return ManifestDigest(digest, chosen, media_type)

    def _slot(self, registry: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._slots.setdefault(registry, threading.BoundedSemaphore(MAX_PER_REGISTRY))

    def _check_backoff(self, registry: str) -> None:
        until = self._blocked_until.get(registry, 0.0)
        if self._clock() < until:
            raise RateLimited(registry, until)

    def _send(self, method: str, ref: ImageRef) -> requests.Response:
        url = self._manifest_url(ref)
        scope = f"repository:{ref.repository}:pull"
        response = self._request(method, url, self._cached_auth(ref.registry, scope))
        if response.status_code == 401:
            auth = self._authorize(ref.registry, response, scope)
            if auth:
                response = self._request(method, url, auth)
        self._note_rate_limit(ref.registry, response)
        return self._checked(response, ref)

    def _manifest_url(self, ref: ImageRef) -> str:
        scheme = "http" if self._insecure(ref.registry) else "https"
        host = _API_HOSTS.get(ref.registry, ref.registry)
        return (
            f"{scheme}://{host}/v2/{ref.repository}/manifests/{ref.digest or ref.tag or 'latest'}"
        )

    def _request(self, method: str, url: str, auth: str | None) -> requests.Response:
        headers = {"Accept": ACCEPT}
        if auth:
            headers["Authorization"] = auth
        self.requests_made += 1
        try:
            return self._session.request(
                method, url, headers=headers, timeout=self._timeout, allow_redirects=True
            )
        except requests.RequestException as exc:
            raise TransientError(f"registry at {url} is unreachable: {exc}") from exc

    def _cached_auth(self, registry: str, scope: str) -> str | None:
        if registry in self._basic_registries:
            credential = self._credentials(registry)
            return _basic(credential) if credential else None
        token = self._tokens.get((registry, scope))
        if token and token[1] > self._clock():
            return f"Bearer {token[0]}"
        return None

    def _authorize(self, registry: str, response: requests.Response, scope: str) -> str | None:
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            credential = self._credentials(registry)
            self._basic_registries.add(registry)
            return _basic(credential) if credential else None
        if challenge.scheme == "bearer":
            return f"Bearer {self._fetch_token(registry, challenge, scope)}"
        return None

    def _fetch_token(self, registry: str, challenge: Challenge, scope: str) -> str:
        params = {
            "service": challenge.params.get("service", ""),
            "scope": challenge.params.get("scope", scope),
        }
        credential = self._credentials(registry)
        auth = (credential.username, credential.password) if credential else None
        try:
            answer = self._session.get(
                challenge.realm, params=params, auth=auth, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise TransientError(f"token service of {registry} is unreachable: {exc}") from exc
        if answer.status_code != 200:
            raise TransientError(f"token service of {registry} answered {answer.status_code}")
        body = answer.json()
        token = str(body.get("token") or body.get("access_token") or "")
        # Tokens without expires_in live 60 s (the token spec's default).
        lifetime = float(body.get("expires_in") or 60)
        self._tokens[(registry, scope)] = (token, self._clock() + max(lifetime - 10, 1))
        return token

    def _note_rate_limit(self, registry: str, response: requests.Response) -> None:
        remaining = response.headers.get("ratelimit-remaining", "")
        if response.status_code == 429 or remaining.split(";")[0].strip() == "0":
            wait = _retry_after(response.headers.get("Retry-After"), remaining)
            self._blocked_until[registry] = self._clock() + wait
        if response.status_code == 429:
            raise RateLimited(registry, self._blocked_until[registry])

    @staticmethod
    def _checked(response: requests.Response, ref: ImageRef) -> requests.Response:
        if response.status_code == 404:
            raise NotFound(f"{ref} is not in its registry")
        if response.status_code >= 400:
            raise TransientError(f"registry answered {response.status_code} for {ref}")
        return response


def _basic(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _retry_after(header: str | None, remaining: str) -> float:
    """Seconds to wait: Retry-After (seconds or a date), else the rate-limit window."""
    if header:
        if header.strip().isdigit():
            return float(header)
        try:
            return max(parsedate_to_datetime(header).timestamp() - time.time(), 1.0)
        except (TypeError, ValueError):
            pass
    window = [
        part.split("=", 1)[1] for part in remaining.split(";")[1:] if part.strip().startswith("w=")
    ]
    return float(window[0]) if window and window[0].isdigit() else DEFAULT_BACKOFF_SECONDS
