"""Queuing many runs at once, over in-memory stores (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from shared.batch_submission import PlannedRun, submit_builds
from shared.build_requests import BuildRequest
from shared.errors import TransientError
from shared.run_ids import format_run_id
from shared.runs import RunStatus, Trigger
from shared.submission import RunOrigin
from tests.support.task_fakes import FakeQueue, FakeRunStore, fake_submission

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ORIGIN = RunOrigin(trigger=Trigger.BASE_IMAGE_UPDATE, task="app")


def _plan(context: str, **changes) -> PlannedRun:
    request = BuildRequest(context=context, images=("app:{{.Run.ID}}",), **changes)
    return PlannedRun(request, ORIGIN, {})


class BrokenForSome(FakeQueue):
    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    def send(self, message):
        if message["runId"] in self.refused:
            raise TransientError("queue storage is unreachable")
        super().send(message)


def test_every_planned_run_is_recorded_queued_then_sent_once():
    services = fake_submission()
    runs = submit_builds([_plan(f"https://git.test/r{n}.git") for n in range(30)], services, NOW)
    ids = [run.run_id for run in runs if run]
    assert len(ids) == 30 == len(set(ids))
    assert sorted(m["runId"] for m in services.build_queue.messages) == sorted(ids)
    stored = [services.runs.get(run_id)[0] for run_id in ids]
    assert {(run.status, run.trigger) for run in stored} == {(RunStatus.QUEUED, ORIGIN.trigger)}
    assert stored[0].images[0].tag == ids[0]  # templates see the run's own id


def test_a_refused_context_leaves_that_run_out_and_the_others_queued():
    services = replace(fake_submission(), allow_private_networks=False)
    services = replace(
        services, resolve=lambda host: ["10.0.0.1" if host == "inside" else "8.8.8.8"]
    )
    plans = [_plan("https://git.test/a.git"), _plan("https://inside/b.git"), _plan("https://x/c")]
    runs = submit_builds(plans, services, NOW)
    assert [run is None for run in runs] == [False, True, False]
    assert len(services.build_queue.messages) == 2


def test_a_host_is_resolved_once_per_batch():
    asked: list[str] = []
    services = replace(fake_submission(), resolve=lambda host: asked.append(host) or ["8.8.8.8"])
    submit_builds([_plan("https://git.test/r.git") for _ in range(20)], services, NOW)
    assert asked == ["git.test"]


def test_a_run_whose_message_cannot_be_sent_ends_in_error_with_the_reason_not_queued():
    queue = BrokenForSome({format_run_id(2)})  # the fake store numbers runs 1, 2, 3
    services = replace(fake_submission(), build_queue=queue)
    runs = submit_builds([_plan("https://git.test/r.git") for _ in range(3)], services, NOW)
    assert [run.run_id if run else None for run in runs] == [
        format_run_id(1),
        None,
        format_run_id(3),
    ]
    failed = services.runs.get(format_run_id(2))[0]
    assert failed.status is RunStatus.ERROR
    assert "could not be queued: queue storage is unreachable" in failed.error
    assert [m["runId"] for m in queue.messages] == [format_run_id(1), format_run_id(3)]


class RefusingSecondChunk(FakeRunStore):
    """Refuses the second hundred's records, as a table that went away would."""

    def insert_many(self, runs) -> None:
        if runs[0].run_id == format_run_id(101):
            raise TransientError("table storage is unreachable")
        super().insert_many(runs)


def test_a_hundred_whose_records_fail_is_left_out_and_the_rest_is_queued():
    services = fake_submission(RefusingSecondChunk())
    runs = submit_builds([_plan("https://git.test/r.git") for _ in range(250)], services, NOW)
    queued = [run.run_id for run in runs if run]
    assert len(queued) == 150
    assert [run is None for run in runs] == [False] * 100 + [True] * 100 + [False] * 50
    assert sorted(m["runId"] for m in services.build_queue.messages) == sorted(queued)
