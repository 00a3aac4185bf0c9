"""The registry goes away while a run needs it: the run ends Failed with the
reason, its lease is released, and it is recorded once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from builder.run_lifecycle import execute_run
from shared.build_requests import parse_query_build_request
from shared.runs import RunStatus
from shared.submission import submit_build
from tests.faults.conftest import private_registry
from tests.support.archives import make_tar

pytestmark = pytest.mark.faults


def test_the_registry_down_at_push_time_fails_the_run_and_releases_the_lease(ctx, base, tmp_path):
    with private_registry(tmp_path) as (registry, process):
        image = f"{registry}/faults/app:1"
        dockerfile = f"FROM {base[0]}\nRUN echo about-to-push && sleep 1\n"
        request = parse_query_build_request([("image", image)])
        run = submit_build(
            request,
            ctx.adapters.submission(),
            datetime.now(UTC),
            make_tar({"Dockerfile": dockerfile}),
        )
        (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
        worker = threading.Thread(
            target=execute_run, args=(run.run_id, delivery.dequeue_count, ctx)
        )
        worker.start()
        deadline = time.monotonic() + 120
        while b"about-to-push" not in ctx.adapters.logs.read(run.run_id, 0):
            assert time.monotonic() < deadline and worker.is_alive(), "the build never started"
            time.sleep(0.05)
        process.kill()  # the registry dies while the build finishes: the push meets it down
        process.wait()
        worker.join(timeout=300)
        assert not worker.is_alive()
    ended, _ = ctx.adapters.runs.get(run.run_id)
    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert ended.status is RunStatus.FAILED, log
    assert ended.error and registry in ended.error, ended.error
    assert ended.lease_until is None and ended.finish_time is not None
    assert [r.run_id for r in ctx.adapters.runs.list(top=1000) if r.run_id == run.run_id] == [
        run.run_id
    ]
