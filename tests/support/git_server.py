"""Real Git repositories served read-only by ``git daemon`` on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def git_daemon(root: Path) -> Iterator[str]:
    """Serve every repository under ``root``; yields ``git://127.0.0.1:<port>``."""
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}",
         "--listen=127.0.0.1", f"--port={port}", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(port)
        yield f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"git daemon did not listen on {port}")


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class Repository:
    """A working copy that pushes to a bare repository under the daemon's root."""

    def __init__(self, work: Path, bare: Path) -> None:
        self.work, self.bare = work, bare
        work.mkdir(parents=True)
        git("init", "-q", "-b", "main", cwd=work)
        git("init", "-q", "--bare", "-b", "main", str(bare), cwd=work)
        git("remote", "add", "origin", str(bare), cwd=work)

    def commit(self, files: dict[str, str], message: str, branch: str = "main") -> str:
        """Commit ``files`` on ``branch``, push it, and return the commit id."""
        if git("branch", "--show-current", cwd=self.work) != branch:
            git("checkout", "-q", "-B", branch, cwd=self.work)
        for path, text in files.items():
            (self.work / path).parent.mkdir(parents=True, exist_ok=True)
            (self.work / path).write_text(text)
        git("add", ".", cwd=self.work)
        git("commit", "-qm", message, cwd=self.work)
        git("push", "-q", "origin", branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)
