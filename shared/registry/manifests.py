"""Manifest media types and how to read a digest out of a manifest response.

HEAD first: Docker Hub doesn't count HEAD against the pull limit, and the
``Docker-Content-Digest`` header spares the body. A multi-platform index needs
its body, to find the manifest of the platform a task builds, so that another
architecture's update is no false alarm.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import TransientError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))


@dataclass(frozen=True)
class ManifestDigest:
    """What a tag points at now."""

    digest: str  # of the manifest or index the tag names
    platform_digest: str | None  # of the platform's manifest inside an index; None otherwise
    media_type: str

    @property
    def comparable(self) -> str:
        """The digest to compare across polls for one platform."""
        return self.platform_digest or self.digest


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def is_index(media_type: str) -> bool:
    return media_type.split(";")[0].strip() in INDEX_TYPES


def platform_manifest(index_body: bytes, platform: str) -> str | None:
    """The digest of ``platform``'s manifest (``os/arch[/variant]``) in an index."""
    try:
        index: dict[str, Any] = json.loads(index_body)
    except ValueError as exc:
        raise TransientError(f"the registry sent an index that is not JSON: {exc}") from None
    want = _split_platform(platform)
    for entry in index.get("manifests") or ():
        if not isinstance(entry, dict):
            continue
        found = entry.get("platform") or {}
        if _matches(found, want):
            return str(entry.get("digest"))
    return None


def _split_platform(platform: str) -> tuple[str, str, str | None]:
    parts = platform.split("/")
    return parts[0], parts[1] if len(parts) > 1 else "amd64", parts[2] if len(parts) > 2 else None


def _matches(found: dict[str, Any], want: tuple[str, str, str | None]) -> bool:
    os_name, arch, variant = want
    if found.get("os") != os_name or found.get("architecture") != arch:
        return False
    return variant is None or found.get("variant") == variant
