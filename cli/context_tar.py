"""Pack a local build context as Docker does: ``.dockerignore`` honoured, gzipped tar.

The pattern rules (``**``, ``!`` exceptions, directory prefixes) are docker-py's,
the same code ``docker build`` in the SDK uses, so a context packs the same here
as it would for a local ``docker build``.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths, tar

DOCKERIGNORE = ".dockerignore"


class ContextError(Exception):
    """The local context cannot be packed; the message says what to fix."""


def read_dockerignore(root: Path) -> list[str]:
    """The patterns of ``root/.dockerignore``: blank lines and ``#`` comments dropped."""
    try:
        text = (root / DOCKERIGNORE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not _comment(line)]


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def check_context(root: Path, dockerfile: str) -> str:
    """Check the folder and the Dockerfile in it; return the Dockerfile's path in the context."""
    if not root.is_dir():
        raise ContextError(f"the source folder {str(root)!r} does not exist or is not a folder")
    path = (root / dockerfile).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ContextError(
            f"the Dockerfile {dockerfile!r} is outside the source folder; "
            "-f/--file is relative to the source folder"
        )
    if not path.is_file():
        raise ContextError(
            f"no Dockerfile at {str(root / dockerfile)!r}; "
            "-f/--file names it relative to the source folder"
        )
    return path.relative_to(root.resolve()).as_posix()


def context_files(root: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """The paths (files and folders, relative to ``root``) the archive will hold."""
    # exclude_paths appends to the list it is given: always pass a fresh one.
    return sorted(exclude_paths(str(root), read_dockerignore(root), dockerfile=dockerfile))


def pack_context(root: Path, dockerfile: str = "Dockerfile") -> IO[bytes]:
    """A gzipped tar of ``root`` in a temporary file, positioned at its start.

    The Dockerfile and the ``.dockerignore`` are always sent, even if ignored,
    because the build needs them (Docker does the same).
    """
    try:
        return tar(
            str(root),
            exclude=read_dockerignore(root),
            dockerfile=(dockerfile, None),
            gzip=True,
        )
    except OSError as exc:
        raise ContextError(f"cannot pack {str(root)!r}: {exc}") from exc
