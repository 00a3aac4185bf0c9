"""Fixtures of the integration tier: a builder wired to real storage and engine."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO

import docker.errors
import pytest

from builder.engine import DockerEngine
from builder.run_lifecycle import BuilderContext, execute_run
from shared.build_requests import BuildRequest
from shared.runs import Run
from shared.settings import Settings
from shared.storage.base_image_tables import BaseImageIndex
from shared.submission import submit_build
from shared.wiring import make_adapters
from tests.support.images import make_base_image


@pytest.fixture
def ctx(storage_connection, registry_host, unique_name, tmp_path):
    settings = Settings.from_env(
        {
            "AzureWebJobsStorage": storage_connection,
            "DRYDOCK_REGISTRY": registry_host,
            "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true",
            "DRYDOCK_API_KEY": "test",
        }
    )
    adapters = make_adapters(settings, f"{unique_name}-builds", f"{unique_name}-events")
    # A dependency index of its own: the test stack's host also hears the registry's
    # push events and must not rebuild (or mark) this test's tasks first.
    index = BaseImageIndex(storage_connection, f"{unique_name}idx", f"{unique_name}marks")
    index.ensure_tables()
    adapters = replace(adapters, base_images=index)
    workspace = tmp_path / "workspaces"
    workspace.mkdir()
    yield BuilderContext(adapters, DockerEngine.from_env(), workspace)
    from azure.storage.queue import QueueServiceClient

    queues = QueueServiceClient.from_connection_string(storage_connection)
    queues.delete_queue(f"{unique_name}-builds")
    from azure.data.tables import TableServiceClient

    tables = TableServiceClient.from_connection_string(storage_connection)
    tables.delete_table(f"{unique_name}idx")
    tables.delete_table(f"{unique_name}marks")
    queues.delete_queue(f"{unique_name}-events")


@pytest.fixture
def base(docker_client, registry_host, unique_name):
    reference = f"{registry_host}/{unique_name}/base:1"
    digest = make_base_image(docker_client, reference, {"/etc/base-version": "1\n"})
    return reference, digest


def submit_and_run(
    ctx: BuilderContext, request: BuildRequest, upload: BinaryIO | None = None
) -> tuple[Run, str]:
    """Submit as the HTTP function does, then run the queued message as the worker
    does; returns the recorded run and its whole log."""
    run = submit_build(request, ctx.adapters.submission(), datetime.now(UTC), upload)
    (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
    assert delivery.body == {"runId": run.run_id}
    assert execute_run(run.run_id, delivery.dequeue_count, ctx) is not None
    ctx.adapters.build_queue.delete(delivery)
    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    return ctx.adapters.runs.get(run.run_id)[0], log


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    """A Distribution registry with token auth and our test token issuer."""
    from tests.support.auth_registries import token_registry as start

    with start(tmp_path_factory.mktemp("token-registry")) as registry:
        yield registry


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory):
    """A Distribution registry with htpasswd basic auth."""
    from tests.support.auth_registries import basic_registry as start

    with start(tmp_path_factory.mktemp("basic-registry")) as registry:
        yield registry


class _Files(http.server.BaseHTTPRequestHandler):
    """Test scaffolding: serves fixed bodies and redirects by path."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[tuple[str, dict]]:
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    handler = type("Handler", (_Files,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()


@pytest.fixture
def registry_setting(monkeypatch, registry_host):
    """Bare image names in task files go to the test registry."""
    monkeypatch.setenv("DRYDOCK_REGISTRY", registry_host)


@pytest.fixture
def built_images(docker_client):
    """References a test's run built; removed afterwards."""
    references: list[str] = []
    yield references
    for reference in references:
        with suppress(docker.errors.NotFound):
            docker_client.images.remove(reference, force=True)
