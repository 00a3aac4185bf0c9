"""One key per Git repository, whichever way its URL is written.

A task names its repository one way (``git@github.com:Owner/Repo.git#main``) and a
webhook another (``https://github.com/owner/repo``); both must meet on the same key.
The port is dropped on purpose: a host serves ssh and https on different ports for
the same repository. Paths are compared case-insensitively, as GitHub, GitLab and
Gitea resolve owner and name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>.*)")


def repo_key(url: str) -> str:
    """``host/owner/name`` in lower case, without scheme, user, port, ``.git`` or slashes.

    ``#ref:subfolder`` is ignored, so a task's context can be passed as it is.
    """
    url = url.strip().split("#", 1)[0]
    if _SCHEME.match(url):
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    else:
        match = _SCP_LIKE.fullmatch(url)
        if match is None:
            return url.lower()
        host, path = match.group("host"), match.group("path")
    return f"{host.lower()}/{_clean_path(path)}"


def _clean_path(path: str) -> str:
    path = path.strip("/").lower()
    path = path.removesuffix(".git")
    return re.sub(r"/{2,}", "/", path).rstrip("/")
