"""Where a ``build`` step's context is in the run's shared workspace."""

from __future__ import annotations

import posixpath

from shared.taskfile.model import WORKSPACE


def workspace_path(context: str) -> str | None:
    """The absolute path of a build step's context in the workspace, or None when
    it leads out of it. Relative contexts are read from the workspace, as ACR's
    ``docker build`` reads them from its working directory there; an absolute
    one must already be inside it."""
    if not context or "\x00" in context:
        return None
    path = posixpath.normpath(posixpath.join(WORKSPACE, context))
    return path if path == WORKSPACE or path.startswith(WORKSPACE + "/") else None
