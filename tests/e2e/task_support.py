"""Helpers of the task and webhook e2e tests: a served Git repository and raw HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.git_server import Repository, git_daemon


@contextmanager
def served_repository(tmp_path: Path) -> Iterator[tuple[str, Repository]]:
    """``(clone URL, Repository)``: a repository behind ``git daemon`` on loopback."""
    root = tmp_path / "served"
    root.mkdir()
    with git_daemon(root) as url:
        yield f"{url}/app.git", Repository(tmp_path / "work", root / "app.git")


def webhook_secret_from_env() -> str:
    secret = os.environ.get("DRYDOCK_WEBHOOK_SECRET")
    if not secret:
        pytest.fail("DRYDOCK_WEBHOOK_SECRET is not set: run the e2e tier through `make test`")
    return secret


def call(api, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"x-functions-key": os.environ["DRYDOCK_API_KEY"], **kwargs.pop("headers", {})}
    return requests.request(method, f"{api.url}{path}", headers=headers, timeout=60, **kwargs)
