from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Conflict
from shared.runs import BuildSpec, Run, RunStatus, Trigger, check_transition
from shared.storage.run_entities import entity_to_run, run_to_entity

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def _run(**changes):
    base = dict(
        run_id="dd1",
        status=RunStatus.QUEUED,
        trigger=Trigger.MANUAL,
        create_time=NOW,
        spec=BuildSpec(context="upload"),
    )
    return Run(**{**base, **changes})


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (RunStatus.QUEUED, RunStatus.RUNNING),
        (RunStatus.QUEUED, RunStatus.CANCELED),
        (RunStatus.RUNNING, RunStatus.SUCCEEDED),
        (RunStatus.RUNNING, RunStatus.TIMEOUT),
        (RunStatus.RUNNING, RunStatus.RUNNING),
    ],
)
def test_allowed_transitions(current, new):
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (RunStatus.SUCCEEDED, RunStatus.RUNNING),
        (RunStatus.CANCELED, RunStatus.RUNNING),
        (RunStatus.QUEUED, RunStatus.SUCCEEDED),
        (RunStatus.FAILED, RunStatus.SUCCEEDED),
    ],
)
def test_refused_transitions(current, new):
    with pytest.raises(Conflict):
        check_transition(current, new)


def test_api_shape_uses_the_contract_names():
    run = (
        _run()
        .started(NOW + timedelta(seconds=1))
        .finished(RunStatus.FAILED, NOW + timedelta(seconds=5), error="boom")
    )
    body = run.to_api()
    for name in (
        "runId",
        "status",
        "trigger",
        "task",
        "createTime",
        "startTime",
        "finishTime",
        "source",
        "images",
        "dependencies",
        "baseImageUpdate",
        "archived",
        "error",
        "steps",
    ):
        assert name in body
    assert body["status"] == "Failed"
    assert body["trigger"] == "Manual"
    assert body["createTime"] == "2026-11-28T12:00:00Z"
    assert set(body["source"]) == {"context", "commit", "branch"}
    assert set(body["dependencies"]) == {"runtime", "buildtime"}
    assert body["attempt"] == 1


def test_entity_round_trip_keeps_everything():
    from shared.runs import BaseImageUse, Dependencies, ImageOutput

    run = _run(
        status=RunStatus.SUCCEEDED,
        start_time=NOW,
        finish_time=NOW,
        task="web",
        images=(ImageOutput("localhost:5000", "app", "v1", "sha256:" + "a" * 64),),
        dependencies=Dependencies(
            BaseImageUse("localhost:5000/base:1", "sha256:" + "b" * 64),
            (BaseImageUse("docker.io/library/golang:1", None),),
        ),
        spec=BuildSpec(
            context="https://example.com/x.git#main",
            build_args=(("A", "1"),),
            secret_arg_names=("TOKEN",),
            no_push=True,
            timeout=60,
        ),
        base_image_update={"image": "b", "fromDigest": "x", "toDigest": "y"},
        attempt=2,
    )
    assert entity_to_run(run_to_entity(run)) == run


def test_secret_values_have_no_place_in_the_record():
    spec = BuildSpec(context="upload", secret_arg_names=("TOKEN",))
    assert "TOKEN" in str(spec.to_dict())
    assert set(spec.to_dict()) >= {"secretBuildArgNames"}
    assert "secretBuildArgs" not in spec.to_dict()


def test_entity_round_trip_keeps_the_lease():
    run = _run().started(NOW, lease=timedelta(seconds=30))
    assert run.lease_until == NOW + timedelta(seconds=30)
    assert entity_to_run(run_to_entity(run)) == run


@pytest.mark.parametrize(
    ("run", "at", "held"),
    [
        (_run(), NOW, False),
        (_run().started(NOW, lease=timedelta(seconds=30)), NOW + timedelta(seconds=29), True),
        (_run().started(NOW, lease=timedelta(seconds=30)), NOW + timedelta(seconds=30), False),
        # A Running record without a lease (written before leases existed) is free to retake.
        (_run().started(NOW), NOW, False),
        (
            _run().started(NOW, lease=timedelta(seconds=30)).renewed(NOW + timedelta(minutes=5)),
            NOW + timedelta(minutes=4),
            True,
        ),
    ],
)
def test_a_run_is_held_only_while_running_under_an_unexpired_lease(run, at, held):
    assert run.held_at(at) is held


def test_ending_a_run_drops_its_lease():
    run = _run().started(NOW, lease=timedelta(seconds=30))
    ended = run.finished(RunStatus.SUCCEEDED, NOW + timedelta(seconds=5))
    assert ended.lease_until is None and not ended.held_at(NOW + timedelta(seconds=6))


@pytest.mark.parametrize("run", [_run(), _run().started(NOW, lease=timedelta(seconds=30))])
def test_queued_and_running_runs_can_be_canceled(run):
    canceled = run.canceled(NOW + timedelta(seconds=9))
    assert canceled.status is RunStatus.CANCELED
    assert canceled.finish_time == NOW + timedelta(seconds=9)
    assert "canceled" in (canceled.error or "")


@pytest.mark.parametrize("status", [s for s in RunStatus if s.is_terminal])
def test_an_ended_run_cannot_be_canceled(status):
    with pytest.raises(Conflict, match=f"already ended as {status.value}"):
        _run(status=status, finish_time=NOW).canceled(NOW)


def test_archiving_changes_nothing_else():
    run = _run(status=RunStatus.SUCCEEDED, finish_time=NOW)
    archived = run.with_archived(True)
    assert archived.archived and archived.with_archived(False) == run
