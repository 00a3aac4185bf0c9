import pytest

from cli.build_request import InvalidOption
from cli.task_body import TaskOptions, task_body


def test_create_body_from_az_style_options():
    body = task_body(
        TaskOptions(
            context="https://git.example.com/app.git#main",
            images=["app:{{.Run.ID}}"],
            args=["VERSION=1"],
            secret_args=["TOKEN=t"],
            values=["env=prod"],
            schedules=["0 2 * * *"],
            commit_trigger=False,
            pull_request_trigger=True,
            base_image_trigger_type="All",
        )
    )
    assert body == {
        "context": "https://git.example.com/app.git#main",
        "images": ["app:{{.Run.ID}}"],
        "buildArgs": {"VERSION": "1"},
        "values": {"env": "prod"},
        "secretBuildArgs": {"TOKEN": "t"},
        "triggers": {
            "commit": {"enabled": False},
            "pullRequest": {"enabled": True},
            "baseImage": {"type": "All"},
            "timers": [{"name": "t1", "schedule": "0 2 * * *", "enabled": True}],
        },
    }


def test_update_changes_only_what_is_given_and_drops_read_only_fields():
    current = {
        "name": "app",
        "context": "https://git.example.com/app.git",
        "images": ["app:v1"],
        "buildArgs": {"A": "1"},
        "secretBuildArgNames": ["TOKEN"],
        "status": "Enabled",
        "triggers": {"commit": {"enabled": True, "branches": []}, "timers": []},
        "createTime": "2024-01-01T00:00:00Z",
    }
    body = task_body(TaskOptions(status="Disabled", args=["B=2"]), current)
    assert body["status"] == "Disabled" and body["images"] == ["app:v1"]
    assert body["buildArgs"] == {"A": "1", "B": "2"}
    assert "secretBuildArgs" not in body and "name" not in body and "createTime" not in body
    assert current["buildArgs"] == {"A": "1"}  # not mutated


def test_malformed_key_values_are_usage_errors():
    with pytest.raises(InvalidOption, match="--arg"):
        task_body(TaskOptions(args=["nope"]))
