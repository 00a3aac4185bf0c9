"""Hostile contexts fetched by the builder, and SSRF at submission and at fetch.

A tarball URL serving a hostile archive ends the run Failed with the reason and
writes nothing outside the workspace; addresses we must not reach are refused
when the run is submitted and again when the builder fetches (DNS may change).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from builder.run_lifecycle import BuilderContext, execute_run
from shared.build_requests import BuildRequest, parse_json_build_request
from shared.errors import InvalidRequest
from shared.runs import RunStatus
from shared.settings import Settings
from shared.submission import submit_build
from shared.wiring import make_adapters
from tests.e2e.test_hostile_inputs import DOCKERFILE, gzip_bomb, member, tar_of
from tests.integration.conftest import submit_and_run

pytestmark = pytest.mark.integration

HOSTILE = [
    pytest.param(tar_of(DOCKERFILE, member("../evil", data=b"x")), "'..'", id="dot-dot"),
    pytest.param(tar_of(DOCKERFILE, member("/tmp/evil", data=b"x")), "absolute", id="absolute"),
    pytest.param(
        tar_of(DOCKERFILE, member("up", b"2", link=".."), member("up/evil", data=b"x")),
        "symlink",
        id="symlink escape",
    ),
    pytest.param(
        tar_of(DOCKERFILE, member("h", b"1", link="../../etc/passwd")), "'..'", id="hardlink"
    ),
    pytest.param(tar_of(DOCKERFILE, member("dev", b"3")), "device", id="device"),
    pytest.param(gzip_bomb(), "larger than", id="gzip bomb"),
]


@pytest.mark.parametrize(("archive", "reason"), HOSTILE)
def test_a_hostile_tarball_url_fails_the_run_with_the_reason(ctx, web, tmp_path, archive, reason):
    url, routes = web
    routes["/ctx.tar.gz"] = (200, {"Content-Type": "application/gzip"}, archive)
    request = parse_json_build_request(
        f'{{"context": "{url}/ctx.tar.gz", "images": ["x:1"], "noPush": true}}'.encode()
    )
    run, log = submit_and_run(ctx, request)
    assert run.status is RunStatus.FAILED, log
    assert run.error and reason in run.error, run.error
    assert not (tmp_path / "evil").exists() and not (ctx.workspace_root.parent / "evil").exists()


def _adapters(storage_connection, registry_host, unique_name, allow_private: bool):
    settings = Settings.from_env(
        {
            "AzureWebJobsStorage": storage_connection,
            "DRYDOCK_REGISTRY": registry_host,
            "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true" if allow_private else "false",
            "DRYDOCK_API_KEY": "test",
        }
    )
    return make_adapters(settings, f"{unique_name}-builds", f"{unique_name}-events")


@pytest.mark.parametrize(
    "context",
    [
        "http://127.0.0.1:8080/ctx.tar.gz",
        "http://localhost/ctx.tar.gz",
        "http://10.1.2.3/ctx.tar.gz",
        "http://192.168.1.1/ctx.tar.gz",
        "http://172.16.0.1/ctx.tar.gz",
        "http://[::1]/ctx.tar.gz",
        "http://[fd00::1]/ctx.tar.gz",
        "https://10.0.0.5/org/repo.git#main",
        "git@192.168.0.2:org/repo.git",
        "http://0.0.0.0/ctx.tar.gz",
        "http://2130706433/ctx.tar.gz",  # 127.0.0.1 as one number
    ],
)
def test_private_addresses_are_refused_unless_allowed(
    storage_connection, registry_host, unique_name, context
):
    adapters = _adapters(storage_connection, registry_host, unique_name, allow_private=False)
    request = BuildRequest(context=context, images=("x:1",))
    with pytest.raises(InvalidRequest) as refused:
        submit_build(request, adapters.submission(), datetime.now(UTC))
    assert "DRYDOCK_ALLOW_PRIVATE_NETWORKS" in str(refused.value) or "not allowed" in str(
        refused.value
    )


@pytest.mark.parametrize(
    "context",
    [
        "http://169.254.169.254/latest/ctx.tar.gz",
        "http://[fe80::1]/ctx.tar.gz",
        "http://[::ffff:169.254.169.254]/ctx.tar.gz",
        "http://169.254.0.1/ctx.tar.gz",
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_link_local_is_refused_even_when_private_networks_are_allowed(
    storage_connection, registry_host, unique_name, context, allow_private
):
    adapters = _adapters(storage_connection, registry_host, unique_name, allow_private)
    with pytest.raises(InvalidRequest) as refused:
        submit_build(BuildRequest(context=context), adapters.submission(), datetime.now(UTC))
    assert str(refused.value).strip()


def test_the_builder_checks_the_address_again_when_it_fetches(
    ctx, web, storage_connection, registry_host, unique_name
):
    """Submitted while loopback was allowed; the builder's own setting refuses it."""
    url, routes = web
    routes["/ctx.tar.gz"] = (200, {}, tar_of(DOCKERFILE))
    strict = BuilderContext(
        _adapters(storage_connection, registry_host, unique_name, allow_private=False),
        ctx.engine,
        ctx.workspace_root,
    )
    request = BuildRequest(context=f"{url}/ctx.tar.gz", images=("x:1",), no_push=True)
    run = submit_build(request, ctx.adapters.submission(), datetime.now(UTC))
    (delivery,) = list(strict.adapters.build_queue.receive(1, 60))
    execute_run(run.run_id, delivery.dequeue_count, strict)
    run = strict.adapters.runs.get(run.run_id)[0]
    log = strict.adapters.logs.read(run.run_id, 0).decode()
    assert run.status is RunStatus.FAILED, log
    assert run.error and "DRYDOCK_ALLOW_PRIVATE_NETWORKS" in run.error
