"""Push the tour's base image, ``<registry>/drydock/busybox:stable``, unless it is there.

Nothing can be pulled from the internet on our machines, so the base is made
from Debian's busybox-static, the same way the tests make theirs.
Usage: .venv/bin/python infra/local/seed_base.py localhost:5000
"""

from __future__ import annotations

import sys
from pathlib import Path

import docker
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.images import make_base_image  # noqa: E402 - needs the repo on sys.path

REPOSITORY = "drydock/busybox"
TAG = "stable"


def already_there(registry: str) -> bool:
    url = f"http://{registry}/v2/{REPOSITORY}/manifests/{TAG}"
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    return requests.head(url, headers={"Accept": accept}, timeout=10).status_code == 200


def main(registry: str) -> int:
    if already_there(registry):
        return 0
    reference = f"{registry}/{REPOSITORY}:{TAG}"
    digest = make_base_image(docker.from_env(), reference, {"/etc/base-image": f"{reference}\n"})
    print(f"  pushed the tour's base image {reference}@{digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
