"""The e2e tier talks to the running stack (`make test` starts it) over HTTP."""

from __future__ import annotations

import os
import time

import pytest
import requests

from tests.integration.conftest import web  # noqa: F401 - a loopback file server fixture


@pytest.fixture(scope="session")
def api_url() -> str:
    url = os.environ.get("DRYDOCK_URL", "http://127.0.0.1:7071").rstrip("/")
    try:
        requests.get(f"{url}/api/health", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"the functions host does not answer at {url} ({exc}): run `make test`")
    return url


@pytest.fixture(scope="session")
def api_key() -> str:
    key = os.environ.get("DRYDOCK_API_KEY")
    if not key:
        pytest.fail("DRYDOCK_API_KEY is not set: run the e2e tier through `make test`")
    return key


@pytest.fixture
def api(api_url, api_key):
    session = requests.Session()
    session.headers["x-functions-key"] = api_key

    class Api:
        url = api_url

        def get(self, path, **kw):
            return session.get(f"{api_url}{path}", timeout=30, **kw)

        def post(self, path, **kw):
            return session.post(f"{api_url}{path}", timeout=60, **kw)

        def wait_for_run(self, run_id, timeout=180):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                run = self.get(f"/api/runs/{run_id}").json()
                if run["status"] not in ("Queued", "Running"):
                    return run
                time.sleep(0.25)
            raise AssertionError(f"run {run_id} did not finish in {timeout}s")

    return Api()
