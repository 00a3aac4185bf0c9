"""``POST /api/webhooks/registry``: push events from registries, checked at once.

The sender proves itself with ``Authorization: Bearer <DRYDOCK_WEBHOOK_SECRET>``
(CNCF Distribution's endpoint headers; ACR webhook custom headers), compared in
constant time. A pushed tag that no task depends on costs nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from shared.errors import Unauthorized
from shared.image_ref import normalise_image_ref
from shared.registry.notifications import parse_registry_notification


def check_bearer(header: str | None, secret: str) -> None:
    scheme, _, token = (header or "").partition(" ")
    if not secret or scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <DRYDOCK_WEBHOOK_SECRET>")
    if not hmac.compare_digest(token.strip().encode(), secret.encode()):
        raise Unauthorized("the bearer token is not the webhook secret")


def pushed_references(body: bytes) -> list[str]:
    """Normalised references of every tag the notification says was pushed."""
    references = []
    for tag in parse_registry_notification(body):
        reference = normalise_image_ref(tag.reference)
        if reference not in references:
            references.append(reference)
    return references


def handle_registry_push(body: bytes, check: Callable[[str], list[str]]) -> list[str]:
    """Check each pushed reference now; returns the runs started."""
    runs: list[str] = []
    for reference in pushed_references(body):
        runs.extend(check(reference))
    return runs
