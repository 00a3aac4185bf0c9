"""Context archives built in memory: accepted, refused, and never written outside dest."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.archive import ArchiveLimits, ArchiveSummary, check_archive, extract_archive
from shared.errors import InvalidRequest

Member = tuple[tarfile.TarInfo, bytes | None]


def file(name: str, data: bytes = b"x", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def directory(name: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def special(name: str, kind: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def tar_bytes(*members: Member, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def extract(archive: bytes, dest: Path, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveSummary:
    return extract_archive(io.BytesIO(archive), dest, limits)


def check(archive: bytes, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveSummary:
    return check_archive(io.BytesIO(archive), limits)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    target = tmp_path / "ctx"
    target.mkdir()
    return target


@pytest.mark.parametrize("compress", [True, False])
def test_extracts_files_dirs_and_inner_links(dest: Path, compress: bool) -> None:
    archive = tar_bytes(
        directory("./"),
        directory("./src"),
        file("./Dockerfile", b"FROM scratch\n"),
        file("src/run.sh", b"#!/bin/sh\n", mode=0o6755),
        link("src/alias", "../Dockerfile"),
        link("hard", "Dockerfile", kind=tarfile.LNKTYPE),
        link("self", "."),
        compress=compress,
    )
    summary = extract(archive, dest)
    assert summary == ArchiveSummary(entries=7, total_bytes=23)
    assert check(archive) == summary
    assert (dest / "Dockerfile").read_bytes() == b"FROM scratch\n"
    assert (dest / "src/alias").read_bytes() == b"FROM scratch\n"
    assert (dest / "hard").read_bytes() == b"FROM scratch\n"
    mode = (dest / "src/run.sh").stat().st_mode
    assert mode & stat.S_IXUSR and not mode & (stat.S_ISUID | stat.S_ISGID)


@pytest.mark.parametrize("compress", [True, False])
def test_empty_archive_has_no_entries(dest: Path, compress: bool) -> None:
    archive = tar_bytes(compress=compress)
    assert check(archive) == ArchiveSummary(0, 0)
    assert extract(archive, dest) == ArchiveSummary(0, 0)
    assert list(dest.iterdir()) == []


REFUSED = [
    pytest.param([file("../x")], "'../x'", id="dot-dot"),
    pytest.param([file("a/../../x")], "'..'", id="dot-dot inside"),
    pytest.param([file("/etc/x")], "absolute", id="absolute"),
    pytest.param([link("l", "/etc/passwd")], "symlink 'l'", id="absolute symlink"),
    pytest.param([link("l", "../outside")], "outside the context", id="symlink escape"),
    pytest.param(
        [link("esc", "../outside"), file("esc/pwned")],
        "outside the context",
        id="write through escape",
    ),
    pytest.param(
        [directory("d"), link("d/up", ".."), link("d/up2", "up/..")],
        "'d/up2'",
        id="symlink chain escape",
    ),
    pytest.param(
        [link("a", "b/../c"), link("b", ".")], "'a'", id="later symlink changes earlier one"
    ),
    pytest.param([link("loop1", "loop2"), link("loop2", "loop1")], "outside", id="symlink loop"),
    pytest.param(
        [link("in", "sub"), file("in/x")], "beneath the symlink 'in'", id="beneath symlink"
    ),
    pytest.param(
        [link("h", "../../etc/passwd", kind=tarfile.LNKTYPE)], "'..'", id="hardlink escape"
    ),
    pytest.param(
        [link("h", "/etc/passwd", kind=tarfile.LNKTYPE)], "absolute", id="hardlink absolute"
    ),
    pytest.param(
        [link("h", "missing", kind=tarfile.LNKTYPE)], "not an earlier file", id="hardlink dangling"
    ),
    pytest.param([special("dev", tarfile.CHRTYPE)], "device files", id="char device"),
    pytest.param([special("blk", tarfile.BLKTYPE)], "device files", id="block device"),
    pytest.param([special("fifo", tarfile.FIFOTYPE)], "FIFOs", id="fifo"),
    pytest.param([file("a"), file("a")], "appears twice", id="duplicate"),
    pytest.param([file("a"), file("a/b")], "parent 'a' is a file", id="file as parent"),
    pytest.param([file("./")], "archive root", id="file as root"),
    pytest.param([file("n" * 256)], "longer than the file system allows", id="long name"),
    pytest.param([file("d/" * 2100)], "longer than the file system allows", id="long path"),
    pytest.param([link("l", "a/" * 2100)], "too long", id="long symlink"),
]


@pytest.mark.parametrize(("members", "message"), REFUSED)
def test_check_refuses(members: list[Member], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check(tar_bytes(*members))
    assert message in str(caught.value)


@pytest.mark.parametrize(("members", "message"), REFUSED)
def test_extract_refuses_and_writes_nothing_outside(
    tmp_path: Path, dest: Path, members: list[Member], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        extract(tar_bytes(*members), dest)
    assert message in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctx"]


def test_gzip_bomb_is_refused_without_expanding(dest: Path) -> None:
    archive = tar_bytes(file("zeros", b"\0" * 50 * 1024 * 1024))
    assert len(archive) < 200 * 1024
    limits = ArchiveLimits(max_total_bytes=1024 * 1024)
    with pytest.raises(InvalidRequest, match="larger than 1048576 bytes"):
        check(archive, limits)
    with pytest.raises(InvalidRequest, match="larger than"):
        extract(archive, dest, limits)
    assert sum(p.stat().st_size for p in dest.rglob("*")) == 0


def test_raw_gzip_of_zeros_is_an_empty_tar(dest: Path) -> None:
    # All-zero blocks are tar's end marker; reading stops there instead of inflating it all.
    assert check(gzip.compress(b"\0" * 20 * 1024 * 1024)) == ArchiveSummary(0, 0)


def test_decompressed_stream_is_capped_even_when_headers_lie(dest: Path) -> None:
    pax = tarfile.TarInfo("big")
    pax.pax_headers = {"comment": "x" * (2 * 1024 * 1024)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(pax, io.BytesIO(b""))
    with pytest.raises(InvalidRequest, match="extended header"):
        check(buffer.getvalue())


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ArchiveLimits(max_entries=2), "more than 2 entries"),
        (ArchiveLimits(max_total_bytes=5), "larger than 5 bytes"),
    ],
)
def test_limits(limits: ArchiveLimits, message: str) -> None:
    archive = tar_bytes(file("a", b"1234"), file("b", b"1234"), file("c"))
    with pytest.raises(InvalidRequest, match=message):
        check(archive, limits)
    assert check(archive) == ArchiveSummary(3, 9)


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (b"", "not a gzip or tar archive"),
        (b"garbage, not an archive" * 40, "not a gzip or tar archive"),
        (b"PK\x03\x04" + b"\0" * 600, "not a gzip or tar archive"),
        (gzip.compress(b"garbage inside gzip" * 40), "not a gzip or tar archive"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_not_an_archive(dest: Path, archive: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check(archive)
    assert message in str(caught.value)
    with pytest.raises(InvalidRequest):
        extract(archive, dest)


def test_truncated_archive_is_refused() -> None:
    archive = tar_bytes(file("a", b"y" * 10_000), compress=False)
    with pytest.raises(InvalidRequest, match="corrupt or truncated"):
        check(archive[:3000])


def test_dest_must_be_empty(dest: Path) -> None:
    (dest / "existing").write_text("x")
    with pytest.raises(ValueError, match="empty folder"):
        extract(tar_bytes(file("a")), dest)


_names = st.sampled_from(["a", "b", "a/b", "./a", "../a", "/a", "a/../b", "", ".", "a//b"])
_kinds: list[Callable[[str, str], Member]] = [
    lambda name, _: file(name),
    lambda name, _: directory(name),
    lambda name, target: link(name, target),
    lambda name, target: link(name, target, kind=tarfile.LNKTYPE),
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_kinds), _names, _names), max_size=6))
def test_arbitrary_member_lists_extract_inside_or_are_refused(
    tmp_path_factory: pytest.TempPathFactory,
    members: list[tuple[Callable[[str, str], Member], str, str]],
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    dest = root / "ctx"
    dest.mkdir()
    archive = tar_bytes(*(make(name, target) for make, name, target in members))
    try:
        check(archive)
        checked = True
    except InvalidRequest:
        checked = False
    try:
        extract(archive, dest)
        extracted = True
    except InvalidRequest:
        extracted = False
    assert checked == extracted
    assert [p.name for p in root.iterdir()] == ["ctx"]
    for path in dest.rglob("*"):
        # realpath, not resolve(): a symlink loop inside the context is harmless
        # (it never leads out) but makes Path.resolve raise.
        assert Path(os.path.realpath(path)).is_relative_to(dest.resolve())


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_checked_or_refused(data: bytes) -> None:
    try:
        summary = check(data)
    except InvalidRequest:
        return
    assert summary.total_bytes <= summary.entries * len(data)  # nothing from nowhere


@given(st.binary(min_size=1, max_size=64), st.integers(0, 2600))
def test_corrupted_real_archives_are_checked_or_refused(noise: bytes, offset: int) -> None:
    members = (file("a", b"hello" * 50), directory("d"), link("l", "a"))
    archive = bytearray(tar_bytes(*members, compress=False))
    archive[offset : offset + len(noise)] = noise
    try:
        summary = check(bytes(archive))
    except InvalidRequest:
        return
    assert summary.entries <= len(archive) // 512
