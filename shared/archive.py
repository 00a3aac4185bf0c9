"""Build-context archives: validate and extract gzip or plain tar streams safely.

An uploaded context is untrusted. Every member is checked against a model of the
archive's tree before anything is written: no ``..``, no absolute paths, no links
that resolve outside the root (following chains through earlier symlinks), no device
files or FIFOs, nothing placed beneath a symlink, no more entries or bytes than the
limits. Sizes are counted from headers and from the decompressed stream as it is
read, so a gzip bomb is refused without being expanded. Extraction then goes through
``tarfile``'s ``data`` filter as a second layer.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from shared.errors import InvalidRequest

GZIP_MAGIC = b"\x1f\x8b"
NOT_AN_ARCHIVE = "the context is not a gzip or tar archive; send a tar or a gzipped tar"
# pax and GNU long-name headers are read into memory whole; real ones are tiny.
MAX_EXTENDED_HEADER_BYTES = 1024 * 1024
# Headers, padding and long names per entry, on top of the members' own bytes.
STREAM_OVERHEAD_PER_ENTRY = 4096
MAX_SYMLINK_HOPS = 40  # as Linux's ELOOP
# Linux's NAME_MAX and PATH_MAX: longer names would fail mid-extraction with OSError.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4095


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 2 * 1024**3  # uncompressed
    # Checking costs about 0.2 ms an entry: 50,000 keeps a hostile archive of empty
    # entries (under 1 MB gzipped) to seconds of one core; real contexts are far smaller.
    max_entries: int = 50_000


@dataclass(frozen=True)
class ArchiveSummary:
    entries: int
    total_bytes: int


def check_archive(fileobj: BinaryIO, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveSummary:
    """Validate a context archive without writing anything (answers 400 at submission)."""
    tree = _ArchiveTree(limits)
    with _open_tar(fileobj, limits) as tar, _translated_errors():
        for member in tar:
            tree.add(member)
        tree.check_all_symlinks()
    return tree.summary()


def extract_archive(
    fileobj: BinaryIO, dest: Path, limits: ArchiveLimits = ArchiveLimits()
) -> ArchiveSummary:
    """Extract into ``dest``, which must exist and be empty.

    On refusal (InvalidRequest) part of the archive may already be in ``dest``, and
    nothing outside it: the caller deletes ``dest``.
    """
    if not dest.is_dir() or any(dest.iterdir()):
        raise ValueError(f"extract_archive needs an existing, empty folder, not {dest}")
    tree = _ArchiveTree(limits)

    def checked(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo | None:
        tree.add(member)
        return tarfile.data_filter(member, dest_path)

    with _open_tar(fileobj, limits) as tar, _translated_errors():
        tar.extractall(str(dest), filter=checked)
        tree.check_all_symlinks()
    return tree.summary()


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn what a malformed stream raises inside tarfile/gzip into InvalidRequest."""
    try:
        yield
    except tarfile.FilterError as exc:
        raise InvalidRequest(f"the context archive was refused: {exc}") from exc
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InvalidRequest(
            f"the context archive is corrupt or truncated ({exc}); create it again"
        ) from exc


def _open_tar(fileobj: BinaryIO, limits: ArchiveLimits) -> tarfile.TarFile:
    head = fileobj.read(len(GZIP_MAGIC))
    if not head:
        raise InvalidRequest(f"{NOT_AN_ARCHIVE} (it is empty)")
    raw = _Prefixed(head, fileobj)
    stream: _Readable = gzip.GzipFile(fileobj=raw, mode="rb") if head == GZIP_MAGIC else raw
    cap = limits.max_total_bytes + STREAM_OVERHEAD_PER_ENTRY * (limits.max_entries + 2)
    capped = _CappedReader(stream, cap)
    try:
        # "r|": a forward-only stream, so nothing needs the whole upload in memory.
        return tarfile.open(fileobj=capped, mode="r|", tarinfo=_BoundedTarInfo)
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InvalidRequest(NOT_AN_ARCHIVE) from exc


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed(io.RawIOBase):
    """``fileobj`` with bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(chunk) :]
            return chunk
        return self._rest.read(size)

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _CappedReader(io.RawIOBase):
    """Counts decompressed bytes and refuses the stream once it passes ``cap``."""

    def __init__(self, stream: _Readable, cap: int) -> None:
        self._stream = stream
        self._remaining = cap

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # Never ask for more than one byte past the cap, so a bomb never expands further.
        wanted = self._remaining + 1 if size < 0 else min(size, self._remaining + 1)
        chunk = self._stream.read(wanted)
        self._remaining -= len(chunk)
        if self._remaining < 0:
            raise InvalidRequest(
                "the context archive expands beyond the size limit; "
                "exclude large files with .dockerignore"
            )
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses oversized pax/GNU long-name headers before tarfile reads them into memory."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        extended = (
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
        )
        if self.type in extended and self.size > MAX_EXTENDED_HEADER_BYTES:
            raise InvalidRequest(
                f"the context archive has an extended header of {self.size} bytes; "
                "recreate it with a standard tar tool"
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc]


class _ArchiveTree:
    """What the archive has created so far: enough to resolve paths and links."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self._limits = limits
        self._kinds: dict[str, str] = {"": "dir"}  # path -> "dir" | "file" | "symlink"
        self._symlinks: dict[str, str] = {}  # path -> target as written
        self.entries = 0
        self.total_bytes = 0

    def summary(self) -> ArchiveSummary:
        return ArchiveSummary(entries=self.entries, total_bytes=self.total_bytes)

    def add(self, member: tarfile.TarInfo) -> None:
        self._count(member)
        path = _member_path(member)
        self._check_parents(member, path)
        kind = _member_kind(member)
        if kind == "symlink":
            self._symlinks[path] = member.linkname
            self._check_symlink(member.name, path)
        elif kind == "hardlink":
            self._check_hardlink(member, path)
            kind = "file"
        self._record(member, path, kind)

    def check_all_symlinks(self) -> None:
        """Re-resolve every symlink: a later link can change where an earlier one leads."""
        for path in self._symlinks:
            self._check_symlink(path, path)

    def _count(self, member: tarfile.TarInfo) -> None:
        self.entries += 1
        if self.entries > self._limits.max_entries:
            raise InvalidRequest(
                f"the context has more than {self._limits.max_entries} entries; "
                "exclude files with .dockerignore"
            )
        if member.isreg():
            self.total_bytes += member.size
        if self.total_bytes > self._limits.max_total_bytes:
            raise InvalidRequest(
                f"the context is larger than {self._limits.max_total_bytes} bytes uncompressed "
                f"(at {member.name!r}); exclude large files with .dockerignore"
            )

    def _check_parents(self, member: tarfile.TarInfo, path: str) -> None:
        parent = posixpath.dirname(path)
        while parent:
            kind = self._kinds.get(parent)
            if kind == "symlink":
                raise _refused(member, f"it lies beneath the symlink {parent!r}")
            if kind == "file":
                raise _refused(member, f"its parent {parent!r} is a file")
            parent = posixpath.dirname(parent)

    def _check_symlink(self, name: str, path: str) -> None:
        target = self._symlinks[path]
        if len(target.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
            raise InvalidRequest(
                f"the context archive was refused: the symlink {name!r} is too long"
            )
        if not target or target.startswith("/") or "\x00" in target:
            raise InvalidRequest(
                f"the context archive was refused: the symlink {name!r} points to "
                f"{target!r}; symlinks must point inside the context with a relative path"
            )
        start = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
        if self._resolve(start, target.split("/")) is None:
            raise InvalidRequest(
                f"the context archive was refused: the symlink {name!r} points to "
                f"{target!r}, outside the context"
            )

    def _resolve(self, stack: list[str], pending: list[str]) -> list[str] | None:
        """Walk ``pending`` from ``stack`` as the kernel would; None if it leaves the root."""
        pending = list(reversed(pending))
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return None
                stack = stack[:-1]
                continue
            candidate = "/".join([*stack, part])
            link = self._symlinks.get(candidate)
            if link is None:
                stack = [*stack, part]
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS or link.startswith("/"):
                return None
            pending.extend(reversed(link.split("/")))
        return stack

    def _check_hardlink(self, member: tarfile.TarInfo, path: str) -> None:
        target = _normalised(member, member.linkname, "its link target")
        if self._kinds.get(target) != "file":
            raise _refused(
                member, f"it is a hard link to {member.linkname!r}, which is not an earlier file"
            )

    def _record(self, member: tarfile.TarInfo, path: str, kind: str) -> None:
        existing = self._kinds.get(path)
        if existing is not None and not (existing == kind == "dir"):
            raise _refused(member, "it appears twice in the archive; keep only one")
        self._kinds[path] = kind
        parent = posixpath.dirname(path)
        while parent and parent not in self._kinds:
            self._kinds[parent] = "dir"
            parent = posixpath.dirname(parent)


def _refused(member: tarfile.TarInfo, problem: str) -> InvalidRequest:
    return InvalidRequest(f"the context archive was refused: member {member.name!r}: {problem}")


def _member_path(member: tarfile.TarInfo) -> str:
    path = _normalised(member, member.name, "its name")
    if not path and not member.isdir():
        raise _refused(member, "only a directory may name the archive root")
    return path


def _normalised(member: tarfile.TarInfo, name: str, what: str) -> str:
    """``name`` without ``./`` and trailing slashes; refuses absolute paths and ``..``."""
    if "\x00" in name:
        raise _refused(member, f"{what} contains a NUL character")
    if name.startswith("/"):
        raise _refused(member, f"{what} is an absolute path; use paths relative to the root")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refused(member, f"{what} contains '..'; use paths inside the context")
    if len(_encoded(member, name)) > MAX_PATH_BYTES or any(
        len(_encoded(member, part)) > MAX_NAME_BYTES for part in parts
    ):
        raise _refused(member, f"{what} is longer than the file system allows")
    return "/".join(parts)


def _encoded(member: tarfile.TarInfo, name: str) -> bytes:
    try:
        return name.encode("utf-8", "surrogateescape")  # as os.fsencode on Linux
    except UnicodeEncodeError as exc:
        raise _refused(member, "it is not a valid file name") from exc


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.issparse():
        raise _refused(member, "sparse files are not supported; recreate the archive without -S")
    if member.isreg():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    raise _refused(member, "device files, FIFOs and other special files are not allowed")
