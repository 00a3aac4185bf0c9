"""Contexts that live elsewhere: a tarball over HTTP and a Git repository served by
``git daemon`` on loopback, built through the real builder."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.build_requests import parse_json_build_request
from shared.runs import RunStatus
from tests.integration.conftest import submit_and_run
from tests.support.archives import make_tar
from tests.support.git_server import git_daemon as serve_git

pytestmark = pytest.mark.integration


@pytest.fixture
def git_daemon(tmp_path) -> Iterator[tuple[str, Path]]:
    """A bare repository root served read-only by a real ``git daemon`` on loopback."""
    root = tmp_path / "served"
    root.mkdir()
    with serve_git(root) as url:
        yield url, root


def _git(*args: str, cwd: Path) -> str:
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


def _request(**fields: object):
    return parse_json_build_request(json.dumps(fields).encode())


def test_a_tarball_url_context_builds(ctx, base, web):
    url, routes = web
    routes["/ctx.tar.gz"] = (
        200,
        {},
        make_tar({"Dockerfile": f"FROM {base[0]}\nRUN echo from-tarball\n"}),
    )
    run, log = submit_and_run(ctx, _request(context=f"{url}/ctx.tar.gz", noPush=True))
    assert run.status is RunStatus.SUCCEEDED, log
    assert "from-tarball" in log
    assert run.dependencies.runtime is not None and run.dependencies.runtime.digest == base[1]


def test_a_redirect_to_a_link_local_address_is_refused(ctx, web):
    url, routes = web
    routes["/ctx.tar.gz"] = (302, {"Location": "http://169.254.169.254/latest/ctx.tar.gz"}, b"")
    run, log = submit_and_run(ctx, _request(context=f"{url}/ctx.tar.gz", noPush=True))
    assert run.status is RunStatus.FAILED
    assert "169.254.169.254" in (run.error or "") and "link-local" in (run.error or "")


def test_a_missing_tarball_fails_with_the_http_status(ctx, web):
    url, _ = web
    run, _ = submit_and_run(ctx, _request(context=f"{url}/nothing.tar.gz", noPush=True))
    assert run.status is RunStatus.FAILED and "404" in (run.error or "")


def test_a_tarball_server_that_cannot_be_reached_fails_the_run_with_the_reason(ctx):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: the connection is refused
    run, log = submit_and_run(ctx, _request(context=f"http://127.0.0.1:{port}/c.tar.gz"))
    assert run.status is RunStatus.FAILED, log
    assert "the server cannot be reached" in (run.error or "")
    assert "the server cannot be reached" in log


def test_a_git_context_builds_the_ref_and_subfolder_without_dot_git(
    ctx, base, git_daemon, docker_client, registry_host, unique_name, tmp_path
):
    url, served = git_daemon
    work = tmp_path / "work"
    (work / "web").mkdir(parents=True)
    (work / "web" / "Dockerfile").write_text(f"FROM {base[0]}\nCOPY . /src\n")
    (work / "web" / "app.txt").write_text("version 1\n")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-qm", "one", cwd=work)
    _git("checkout", "-qb", "release", cwd=work)
    (work / "web" / "app.txt").write_text("version 2 on release\n")
    _git("commit", "-qam", "two", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(served / "app.git"), cwd=tmp_path)
    image = f"{unique_name}/web:1"
    run, log = submit_and_run(ctx, _request(context=f"{url}/app.git#release:web", images=[image]))
    assert run.status is RunStatus.SUCCEEDED, log
    reference = f"{registry_host}/{image}"
    listing = docker_client.containers.run(
        reference, ["sh", "-c", "cat /src/app.txt; ls -a /src"], remove=True
    ).decode()
    assert "version 2 on release" in listing
    assert ".git" not in listing.split()


def test_an_unknown_git_ref_fails_with_gits_reason(ctx, git_daemon, tmp_path):
    url, served = git_daemon
    work = tmp_path / "w"
    work.mkdir()
    (work / "Dockerfile").write_text("FROM scratch\n")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-qm", "one", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(served / "r.git"), cwd=tmp_path)
    run, log = submit_and_run(ctx, _request(context=f"{url}/r.git#no-such-branch", noPush=True))
    assert run.status is RunStatus.FAILED
    assert "git fetch failed" in (run.error or "") and "no-such-branch" in log
