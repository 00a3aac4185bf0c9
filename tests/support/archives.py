"""Build contexts as gzipped tarballs, made in memory."""

from __future__ import annotations

import io
import tarfile


def make_tar(files: dict[str, str], name_override: str | None = None) -> bytes:
    """A .tar.gz of ``files`` (name -> text); ``name_override`` renames every member,
    for archives that must hold a hostile name such as ``../evil``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(name_override or name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
