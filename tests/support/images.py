"""Base images for tests, made locally: nothing can be pulled from the internet.

A base is ``FROM scratch`` plus Debian's busybox-static and its applet symlinks,
so RUN steps have a shell, plus whatever files a test wants to vary between
versions of "the same" base.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import docker
from docker.utils import parse_repository_tag

BUSYBOX = Path("/bin/busybox")

_BASE_DOCKERFILE = textwrap.dedent(
    """\
    FROM scratch
    COPY busybox /bin/busybox
    RUN ["/bin/busybox", "--install", "-s", "/bin"]
    RUN mkdir -p /tmp && chmod 1777 /tmp
    COPY files/ /
    CMD ["/bin/sh"]
    LABEL org.drydock.test.reference={reference}
    """
)


def make_base_image(
    client: docker.DockerClient, reference: str, files: Mapping[str, str] | None = None
) -> str:
    """Build a busybox base image, tag it ``reference``, push it and return the
    digest the registry reported.

    ``files`` maps absolute paths in the image to their content. Different files
    give a different image, hence a new digest when the same reference is pushed
    again: what the base-image-update tests rely on. The reference is recorded
    in a label, so that bases of different tests never share an image id and
    one test's cleanup cannot remove another's base.
    """
    if not BUSYBOX.is_file():
        raise RuntimeError(f"{BUSYBOX} is missing: install Debian's busybox-static")
    with tempfile.TemporaryDirectory(prefix="drydock-base-") as tmp:
        context = Path(tmp)
        shutil.copy2(BUSYBOX, context / "busybox")
        extra = context / "files"
        extra.mkdir()
        for name, content in (files or {}).items():
            target = extra / PurePosixPath(name).relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        (context / "Dockerfile").write_text(_BASE_DOCKERFILE.format(reference=reference))
        # No network: the base needs none, and a build must not depend on the
        # engine's bridge.
        client.images.build(
            path=str(context), tag=reference, rm=True, forcerm=True, network_mode="none"
        )
    return _push(client, reference)


def _push(client: docker.DockerClient, reference: str) -> str:
    repository, tag = parse_repository_tag(reference)
    digest = None
    for chunk in client.api.push(repository, tag=tag or "latest", stream=True, decode=True):
        if "error" in chunk or "errorDetail" in chunk:
            message = chunk.get("error") or chunk["errorDetail"].get("message")
            raise RuntimeError(f"push of test base {reference} failed: {message}")
        digest = chunk.get("aux", {}).get("Digest", digest)
    if not digest:
        raise RuntimeError(f"push of test base {reference} reported no digest")
    return digest
