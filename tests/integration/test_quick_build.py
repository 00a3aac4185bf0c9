"""The builder end to end in-process: real Azurite, registry and Docker Engine.

Each test submits through the same service the HTTP function calls, then
hands the queued message to the builder's run lifecycle, as the worker does.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path

import pytest
import requests

from builder.run_lifecycle import BuilderContext
from shared.build_requests import parse_query_build_request
from shared.runs import RunStatus
from tests.integration.conftest import submit_and_run
from tests.support.archives import make_tar

pytestmark = pytest.mark.integration

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def _build(ctx: BuilderContext, archive: bytes, query: list[tuple[str, str]]):
    return submit_and_run(ctx, parse_query_build_request(query), io.BytesIO(archive))


def _registry_digest(registry: str, repository: str, tag: str) -> str:
    response = requests.head(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def test_a_folder_builds_pushes_and_records_digests_and_dependencies(
    ctx, base, docker_client, registry_host, unique_name
):
    base_ref, base_digest = base
    dockerfile = textwrap.dedent("""\
        ARG BASE=scratch
        FROM $BASE
        ARG GREETING
        COPY hello.txt /hello.txt
        RUN echo "$GREETING" > /greeting
        """)
    archive = make_tar({"Dockerfile": dockerfile, "hello.txt": "hi\n"})
    run, log = _build(
        ctx,
        archive,
        [
            ("image", f"{unique_name}/app:{{{{.Run.ID}}}}"),
            ("image", f"{unique_name}/app:latest"),
            ("buildArg", f"BASE={base_ref}"),
            ("buildArg", "GREETING=ahoy"),
        ],
    )
    assert run.status is RunStatus.SUCCEEDED, log
    assert [image.tag for image in run.images] == [run.run_id, "latest"]
    for image in run.images:
        assert image.registry == registry_host
        assert image.digest == _registry_digest(registry_host, image.repository, image.tag)
    assert run.dependencies.runtime is not None
    assert run.dependencies.runtime.image == base_ref
    assert run.dependencies.runtime.digest == base_digest
    assert f"Run ID: {run.run_id}" in log and "Successfully pushed image" in log
    assert (
        f"Run {run.run_id} Succeeded" in log
        and f"runtime-dependency: {base_ref}@{base_digest}" in log
    )
    output = docker_client.containers.run(
        run.images[0].reference, ["cat", "/greeting", "/hello.txt"], remove=True
    )
    assert output.decode() == "ahoy\nhi\n"
    (event,) = list(ctx.adapters.events_queue.receive(1, 5))
    assert event.body["runId"] == run.run_id and event.body["status"] == "Succeeded"


def test_a_failing_run_step_fails_the_run_with_the_reason(ctx, base, unique_name):
    archive = make_tar({"Dockerfile": f"FROM {base[0]}\nRUN echo about to fail && exit 3\n"})
    run, log = _build(ctx, archive, [("image", f"{unique_name}/fails:1")])
    assert run.status is RunStatus.FAILED
    assert "non-zero code: 3" in (run.error or "")
    assert "about to fail" in log and "non-zero code: 3" in log
    assert run.images[0].digest is None


def test_a_missing_dockerfile_fails_the_run(ctx, unique_name):
    run, log = _build(
        ctx,
        make_tar({"README": "no dockerfile here"}),
        [("image", f"{unique_name}/x:1"), ("file", "Dockerfile.prod")],
    )
    assert run.status is RunStatus.FAILED
    assert "Dockerfile.prod" in (run.error or "") and "not found" in (run.error or "")
    assert "not found" in log


def test_secret_build_args_never_reach_the_log_or_the_record(ctx, base, unique_name):
    secret = "s3cr3t-" + unique_name
    dockerfile = f'FROM {base[0]}\nARG TOKEN\nRUN echo "token=$TOKEN"\n'
    run, log = _build(
        ctx,
        make_tar({"Dockerfile": dockerfile}),
        [("noPush", "true"), ("secretBuildArg", f"TOKEN={secret}")],
    )
    assert run.status is RunStatus.SUCCEEDED, log
    assert "token=***" in log
    assert secret not in log
    assert secret not in json.dumps(run.to_api())
    assert ctx.adapters.secrets.get(run.run_id) == {}


def test_an_unreachable_registry_fails_the_push(ctx, base):
    archive = make_tar({"Dockerfile": f"FROM {base[0]}\n"})
    run, log = _build(ctx, archive, [("image", "localhost:5999/nowhere/app:1")])
    assert run.status is RunStatus.FAILED
    assert "localhost:5999" in (run.error or "")
    assert "localhost:5999" in log


def test_a_run_over_its_timeout_ends_as_timeout(ctx, base):
    archive = make_tar({"Dockerfile": f"FROM {base[0]}\nRUN sleep 30\n"})
    run, log = _build(ctx, archive, [("noPush", "true"), ("timeout", "3")])
    assert run.status is RunStatus.TIMEOUT
    assert "timeout of 3s" in (run.error or "")
    assert (run.finish_time - run.start_time).total_seconds() < 25


def test_a_context_escaping_the_workspace_fails_and_writes_nothing_outside(ctx, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"evil"))
    run, log = _build(ctx, buffer.getvalue(), [("noPush", "true")])
    assert run.status is RunStatus.FAILED
    assert "escaped.txt" in (run.error or "")
    assert not list(Path(tmp_path).rglob("escaped.txt"))
