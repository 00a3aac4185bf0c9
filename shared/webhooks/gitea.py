"""Gitea and Forgejo webhooks: ``X-Gitea-Signature`` (hex HMAC-SHA256, no prefix),
``X-Gitea-Event``, ``X-Gitea-Delivery``; Forgejo's ``X-Forgejo-*`` names likewise.
Payloads follow GitHub's shapes."""

from __future__ import annotations

from typing import Any

from shared.webhooks.events import GitEvent, Headers, Ignored, Provider
from shared.webhooks.github import parse_github_shaped
from shared.webhooks.signatures import verify_hmac_sha256

# Gitea names a new push to a pull request "synchronized", GitHub "synchronize".
PR_ACTIONS = frozenset({"opened", "synchronized", "synchronize", "reopened"})


def _header(headers: Headers, name: str) -> str:
    return headers.get(f"x-gitea-{name}") or headers.get(f"x-forgejo-{name}") or ""


def _signature_valid(headers: Headers, body: bytes, secret: str) -> bool:
    return verify_hmac_sha256(body, secret, _header(headers, "signature"))


def _parse(headers: Headers, payload: dict[str, Any]) -> GitEvent | Ignored:
    return parse_github_shaped(_header(headers, "event"), payload, PR_ACTIONS)


PROVIDER = Provider(
    name="gitea",
    signature_valid=_signature_valid,
    has_signature=lambda headers: bool(_header(headers, "signature")),
    delivery_id=lambda headers: _header(headers, "delivery") or None,
    parse=_parse,
)
