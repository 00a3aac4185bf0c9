"""Fetching a run's build context into its private workspace.

Three sources: the uploaded tarball (blob), a remote tarball URL, a Git
repository. Every network address is checked again here, not only at
submission, since DNS may answer differently by the time the builder runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from builder.paths import path_inside
from shared.archive import extract_archive
from shared.context_url import GitContext, TarballContext, check_address_allowed, parse_context_url
from shared.errors import BuildFailed
from shared.ports import ContextStore
from shared.submission import UPLOAD_CONTEXT
from shared.wiring import resolve_host

MAX_TARBALL_BYTES = 1024 * 1024 * 1024
MAX_REDIRECTS = 5
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "http:https:ssh:git",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def fetch_context(
    context: str,
    run_id: str,
    workspace: Path,
    uploads: ContextStore,
    allow_private: bool,
    commit: str | None = None,
    timeout: float = 600,
) -> Path:
    """Put the context under ``workspace`` and return the folder to build from."""
    root = workspace / "context"
    root.mkdir()
    if context == UPLOAD_CONTEXT:
        with uploads.download(run_id) as archive:
            extract_archive(archive, root)
        return root
    source = parse_context_url(context)
    if isinstance(source, TarballContext):
        with _download(source.url, allow_private, timeout) as archive:
            extract_archive(archive, root)
        return root
    return _clone(source, root, allow_private, commit, timeout)


def _check_url(url: str, allow_private: bool) -> None:
    host = urlsplit(url).hostname or ""
    check_address_allowed(host, resolve_host(host), allow_private)


def _download(url: str, allow_private: bool, timeout: float) -> BinaryIO:
    """Follow redirects by hand so every hop's address is checked."""
    for _ in range(MAX_REDIRECTS + 1):
        _check_url(url, allow_private)
        response = _get(url, timeout)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            response.close()
            continue
        if response.status_code != 200:
            raise BuildFailed(
                f"downloading the context from {url} failed: HTTP {response.status_code}"
            )
        return _spool(response, url)
    raise BuildFailed(
        f"downloading the context from {url} failed: more than {MAX_REDIRECTS} redirects"
    )


def _get(url: str, timeout: float) -> requests.Response:
    """One hop; a server that cannot be reached fails the run with the reason,
    as an HTTP error does: it is the context's address, not our fault."""
    try:
        return requests.get(url, stream=True, timeout=(10, timeout), allow_redirects=False)
    except requests.RequestException as exc:
        raise BuildFailed(f"downloading the context from {url} failed: {_reason(exc)}") from exc


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectionError):
        return "the server cannot be reached (connection refused or reset)"
    if isinstance(exc, requests.Timeout):
        return "the server did not answer in time"
    return type(exc).__name__


def _spool(response: requests.Response, url: str) -> BinaryIO:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    size = 0
    with response:
        for chunk in response.iter_content(1024 * 1024):
            size += len(chunk)
            if size > MAX_TARBALL_BYTES:
                spool.close()
                raise BuildFailed(f"the context at {url} is larger than {MAX_TARBALL_BYTES} bytes")
            spool.write(chunk)
    spool.seek(0)
    return spool


def _clone(
    source: GitContext, root: Path, allow_private: bool, commit: str | None, timeout: float
) -> Path:
    if "://" in source.url:
        _check_url(source.url, allow_private)
    else:  # scp-like git@host:owner/repo
        check_address_allowed(source.host, resolve_host(source.host), allow_private)
    want = commit or source.ref or "HEAD"
    _git(["init", "-q", str(root)], root, timeout)
    _git(["remote", "add", "origin", "--", source.url], root, timeout)
    _git(["fetch", "-q", "--depth", "1", "origin", want], root, timeout)
    _git(["checkout", "-q", "--detach", "FETCH_HEAD"], root, timeout)
    shutil.rmtree(root / ".git")
    return _subfolder(root, source.subfolder)


def _subfolder(root: Path, subfolder: str | None) -> Path:
    if not subfolder:
        return root
    folder = path_inside(root, subfolder)
    if folder is None or not folder.is_dir():
        raise BuildFailed(f"the subfolder {subfolder!r} does not exist in the repository")
    return folder


def _git(args: list[str], cwd: Path, timeout: float) -> None:
    command = ["git", "-c", "protocol.file.allow=never", "-c", "protocol.ext.allow=never", *args]
    env = {**os.environ, **_GIT_ENV}
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"git {args[0]} took longer than {int(timeout)}s") from None
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BuildFailed(f"git {args[0]} failed: {reason[0]}")
