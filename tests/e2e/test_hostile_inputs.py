"""Hostile build contexts and context URLs through HTTP: each is a 400 that says why,
and nothing is queued for it.

The entry-count cap (200,000) is tested with small limits in tests/unit/test_archive.py:
at full size, writing the archive alone takes Python's tarfile ~40 s."""

from __future__ import annotations

import io
import tarfile
import zlib

import pytest

from tests.e2e.task_support import call

pytestmark = pytest.mark.e2e

GZIP = {"Content-Type": "application/gzip"}


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, len(data), link, 0o644
    return info, data


DOCKERFILE = member("Dockerfile", data=b"FROM scratch\n")


def gzip_bomb(declared: int = 3 * 1024**3) -> bytes:
    """A small gzip that expands to a member of ``declared`` zero bytes."""
    info = tarfile.TarInfo("zeros")
    info.size = declared
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = [compressor.compress(info.tobuf(format=tarfile.GNU_FORMAT))]
    block = bytes(1024 * 1024)
    for _ in range(64):  # 64 MB of the promised zeros is enough to show the refusal
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


HOSTILE_TARS = [
    pytest.param(tar_of(DOCKERFILE, member("../evil")), "'..'", id="dot-dot"),
    pytest.param(tar_of(DOCKERFILE, member("/etc/cron.d/x")), "absolute", id="absolute path"),
    pytest.param(
        tar_of(DOCKERFILE, member("l", tarfile.SYMTYPE, link="/etc/passwd")),
        "symlink",
        id="abs-link",
    ),
    pytest.param(
        tar_of(DOCKERFILE, member("l", tarfile.SYMTYPE, link="../../outside")),
        "outside the context",
        id="symlink escape",
    ),
    pytest.param(
        tar_of(DOCKERFILE, member("up", tarfile.SYMTYPE, link=".."), member("up/x", data=b"x")),
        "symlink",
        id="write through a symlink",
    ),
    pytest.param(
        tar_of(DOCKERFILE, member("h", tarfile.LNKTYPE, link="../../etc/passwd")),
        "'..'",
        id="hardlink escape",
    ),
    pytest.param(
        tar_of(DOCKERFILE, member("h", tarfile.LNKTYPE, link="/etc/shadow")),
        "absolute",
        id="hardlink absolute",
    ),
    pytest.param(tar_of(DOCKERFILE, member("dev", tarfile.CHRTYPE)), "device", id="char device"),
    pytest.param(tar_of(DOCKERFILE, member("blk", tarfile.BLKTYPE)), "device", id="block device"),
    pytest.param(tar_of(DOCKERFILE, member("fifo", tarfile.FIFOTYPE)), "FIFO", id="fifo"),
    pytest.param(gzip_bomb(), "", id="gzip bomb"),
    pytest.param(b"\x1f\x8b" + bytes(64), "", id="corrupt gzip"),
]


def _queued_count(api) -> int:
    return len(api.get("/api/runs?status=Queued&top=1000").json()["runs"])


@pytest.mark.parametrize(("body", "reason"), HOSTILE_TARS)
@pytest.mark.parametrize("route", ["/api/builds", "/api/runs?file=acr-task.yaml"])
def test_hostile_archives_are_refused_with_a_reason(api, route, body, reason):
    before = _queued_count(api)
    answer = api.post(route if "?" in route else f"{route}?image=x:1", data=body, headers=GZIP)
    assert answer.status_code in (400, 413), answer.text
    error = answer.json()["error"]
    assert error.strip() and reason in error
    assert _queued_count(api) <= before


INJECTIONS = [
    pytest.param("--upload-pack=touch /tmp/pwned", "starts with '-'", id="upload-pack"),
    pytest.param("ext::sh -c touch% /tmp/pwned", "transport helper", id="ext transport"),
    pytest.param("file:///etc/passwd", "file://", id="file url"),
    pytest.param("ssh://-oProxyCommand=touch%20x/r.git", "no valid host", id="ssh option host"),
    pytest.param("git@-oProxyCommand=x:r.git", "not a URL", id="scp option host"),
    pytest.param("https://example.com/r.git#a..b", "'..'", id="ref dot-dot"),
    pytest.param("https://example.com/r.git#main@{1}", "'@{'", id="ref reflog"),
    pytest.param("https://example.com/r.git#-x", "starts with '-'", id="ref option"),
    pytest.param("https://example.com/r.git#ma\x01in", "control characters", id="ref control"),
    pytest.param("https://example.com/r.git#main:../x", "'..'", id="subfolder escape"),
    pytest.param("http://169.254.169.254/latest.tar.gz", "", id="cloud metadata"),
    pytest.param("http://[fe80::1]/x.tar.gz", "", id="link-local v6"),
]


@pytest.mark.parametrize(("context", "reason"), INJECTIONS)
@pytest.mark.parametrize("route", ["/api/builds", "/api/runs"])
def test_injected_context_urls_are_refused(api, route, context, reason):
    body = {"context": context}
    body.update({"images": ["x:1"]} if route == "/api/builds" else {"file": "acr-task.yaml"})
    answer = api.post(route, json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error.strip() and reason in error


def test_a_task_with_an_injected_context_is_refused(api):
    body = {"context": "ext::sh -c x", "images": ["x:1"]}
    answer = call(api, "PUT", "/api/tasks/hostile-ctx", json=body)
    assert answer.status_code == 400 and "transport helper" in answer.json()["error"]
    assert call(api, "GET", "/api/tasks/hostile-ctx").status_code == 404
