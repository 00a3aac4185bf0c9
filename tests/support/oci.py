"""Pushing small images straight through the Distribution API (no Docker needed):
a config blob, one layer and a manifest; and indexes over such manifests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

Auth = Callable[[str], dict[str, str]]  # scope -> headers


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("marker")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def upload_blob(base: str, repo: str, data: bytes, auth: Auth) -> str:
    headers = auth(f"repository:{repo}:pull,push")
    start = requests.post(f"{base}/v2/{repo}/blobs/uploads/", headers=headers, timeout=10)
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base + location
    digest = _digest(data)
    separator = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{separator}digest={digest}",
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=10,
    )
    done.raise_for_status()
    return digest


def put_manifest(base: str, repo: str, tag: str, body: bytes, media_type: str, auth: Auth) -> str:
    headers = {**auth(f"repository:{repo}:pull,push"), "Content-Type": media_type}
    response = requests.put(
        f"{base}/v2/{repo}/manifests/{tag}", data=body, headers=headers, timeout=10
    )
    response.raise_for_status()
    return response.headers.get("Docker-Content-Digest") or _digest(body)


def push_image(
    base: str, repo: str, tag: str, auth: Auth = lambda _s: {}, arch: str = "amd64"
) -> tuple[str, int]:
    """A fresh image (random layer) under ``tag``; returns (digest, manifest size)."""
    layer = _layer(os.urandom(16))
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [_digest(gzip.decompress(layer))]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": upload_blob(base, repo, config, auth),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": upload_blob(base, repo, layer, auth),
                }
            ],
        }
    ).encode()
    return put_manifest(base, repo, tag, manifest, DOCKER_MANIFEST, auth), len(manifest)


def push_index(
    base: str,
    repo: str,
    tag: str,
    platforms: dict[str, tuple[str, int]],
    auth: Auth = lambda _s: {},
) -> str:
    """An OCI index under ``tag`` over manifests already in ``repo`` (arch -> (digest, size))."""
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": DOCKER_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "platform": {"os": "linux", "architecture": arch},
                }
                for arch, (digest, size) in platforms.items()
            ],
        }
    ).encode()
    return put_manifest(base, repo, tag, index, OCI_INDEX, auth)
