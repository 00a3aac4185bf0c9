"""``WWW-Authenticate`` challenges, as registries send them (RFC 7235 syntax).

Docker Hub, GHCR, MCR, Quay and Distribution with token auth answer 401 with
``Bearer realm="…",service="…",scope="…"``; a basic-auth registry with
``Basic realm="…"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer" or "basic"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of the header; None when there is none we can read."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme or not scheme.isalpha():
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            break
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
        position = match.end()
    return Challenge(scheme.lower(), params)
