"""Paths a context names, kept inside the context."""

from __future__ import annotations

import os
from pathlib import Path


def path_inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` with links followed, or None when that leads outside
    ``root``. realpath, not Path.resolve: a symlink loop in a context must be a
    refusal, not a RuntimeError."""
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(root / relative))
    return path if path.is_relative_to(real_root) else None
