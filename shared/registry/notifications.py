"""Push events from registries: CNCF Distribution notification envelopes and
ACR webhook pushes, reduced to the tags that moved.

Distribution posts ``{"events": [...]}`` for every blob and manifest push and
pull; only a manifest push that names a tag can move a base image. ACR posts
one event object per delivery.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import InvalidRequest


@dataclass(frozen=True)
class PushedTag:
    registry: str  # the host the pusher used, e.g. "localhost:5000", "myreg.azurecr.io"
    repository: str
    tag: str
    digest: str | None

    @property
    def reference(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def parse_registry_notification(body: bytes) -> list[PushedTag]:
    """Every tag push in the body; other events are ignored, malformed JSON refused."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest(f"the notification is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        events: Iterable[Any] = data["events"]
    elif isinstance(data, dict) and "action" in data:
        events = [data]  # ACR webhook: one event per delivery
    else:
        raise InvalidRequest(
            'expected a Distribution envelope {"events": [...]} or an ACR push event'
        )
    return [tag for tag in (_pushed_tag(event) for event in events) if tag is not None]


def _pushed_tag(event: Any) -> PushedTag | None:
    if not isinstance(event, dict) or event.get("action") != "push":
        return None
    target = _object(event.get("target"))
    request = _object(event.get("request"))
    repository, tag = target.get("repository"), target.get("tag")
    host = request.get("host") or urlsplit(str(target.get("url") or "")).netloc
    if not (isinstance(repository, str) and isinstance(tag, str) and isinstance(host, str)):
        return None
    if not (repository and tag and host):
        return None
    digest = target.get("digest")
    return PushedTag(host.lower(), repository, tag, digest if isinstance(digest, str) else None)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
