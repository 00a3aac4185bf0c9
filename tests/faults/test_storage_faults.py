"""Azurite restarted while a builder process holds a run: the run still ends in a
true state (Succeeded, possibly after a retake), recorded once, its lease released."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from shared.build_requests import parse_query_build_request
from shared.errors import DrydockError
from shared.runs import RunStatus
from shared.settings import Settings, azurite_connection_string
from shared.submission import submit_build
from shared.wiring import make_adapters
from tests.faults.services import azurite, start_builder, stop, three_free_ports
from tests.support.archives import make_tar

pytestmark = pytest.mark.faults

TERMINAL = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ERROR, RunStatus.CANCELED,
            RunStatus.TIMEOUT}  # fmt: skip


def _get(adapters, run_id):
    try:
        return adapters.runs.get(run_id)[0]
    except DrydockError:
        return None  # storage restarting


def test_azurite_restarted_mid_run_ends_the_run_in_a_true_state(
    base, tmp_path, registry_host, unique_name
):
    location = tmp_path / "azurite"
    location.mkdir()
    port = three_free_ports()
    connection = azurite_connection_string(blob_port=port)
    env = {"AzureWebJobsStorage": connection, "DRYDOCK_REGISTRY": registry_host,
           "DRYDOCK_ALLOW_PRIVATE_NETWORKS": "true", "DRYDOCK_API_KEY": "faults"}  # fmt: skip
    with azurite(location, port) as first:
        adapters = make_adapters(Settings.from_env(env), f"{unique_name}-b", f"{unique_name}-e")
        adapters.build_queue.ensure_queue()
        dockerfile = f"FROM {base[0]}\nRUN echo started && sleep 8 && echo finished\n"
        run = submit_build(
            parse_query_build_request([("noPush", "true")]),
            adapters.submission(),
            datetime.now(UTC),
            make_tar({"Dockerfile": dockerfile}),
        )
        builder = start_builder(
            env, tmp_path / "builder.log", tmp_path / "ws",
            "--queue", f"{unique_name}-b", "--events-queue", f"{unique_name}-e",
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while (current := _get(adapters, run.run_id)) is None or (
                current.status is not RunStatus.RUNNING
            ):
                assert time.monotonic() < deadline, "the builder never took the run"
                time.sleep(0.2)
            time.sleep(1)
            first.terminate()
            first.wait(timeout=20)
            time.sleep(3)  # storage is away while the build goes on
            with azurite(location, port):
                deadline = time.monotonic() + 240
                while (ended := _get(adapters, run.run_id)) is None or ended.status not in TERMINAL:
                    assert time.monotonic() < deadline, (tmp_path / "builder.log").read_text()[
                        -3000:
                    ]
                    time.sleep(0.5)
                log = adapters.logs.read(run.run_id, 0).decode()
                runs = list(adapters.runs.list(top=100))
                stop(builder)  # while storage is up, so it can hand back and leave
        finally:
            stop(builder)
    assert ended.status is RunStatus.SUCCEEDED, (ended.error, log)
    assert "finished" in log
    assert [r.run_id for r in runs] == [run.run_id]  # neither lost nor doubled
    assert ended.lease_until is None
