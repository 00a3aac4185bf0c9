import json
from datetime import UTC, datetime

import pytest

from shared.errors import InvalidRequest
from shared.storage.task_entities import entity_to_task, task_to_entity
from shared.task_parsing import check_task_name, parse_task
from shared.tasks import BaseImageTriggerType, TaskStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REGISTRY = "localhost:5000"


def parse(body: dict, name: str = "hello-app", existing=None):
    return parse_task(name, json.dumps(body).encode(), existing, NOW, REGISTRY)


MINIMAL = {"context": "https://github.com/owner/app.git", "images": ["app:{{.Run.ID}}"]}


def test_acr_defaults():
    task = parse(MINIMAL)
    api = task.to_api()
    assert api["triggers"] == {
        "commit": {"enabled": True, "branches": []},
        "pullRequest": {"enabled": False, "push": False},
        "baseImage": {"enabled": True, "type": "Runtime"},
        "timers": [],
    }
    assert (api["status"], api["file"], api["timeout"], api["supersedeQueuedRuns"]) == (
        "Enabled",
        "Dockerfile",
        3600,
        True,
    )
    assert api["createTime"] == api["updateTime"] == "2024-05-01T12:00:00Z"


def test_every_field():
    task = parse(
        {
            **MINIMAL,
            "file": "acb.yaml",
            "buildArgs": {"VERSION": "{{.Run.Commit}}"},
            "secretBuildArgs": {"TOKEN": "hunter2"},
            "values": {"env": "prod"},
            "timeout": 600,
            "status": "Disabled",
            "triggers": {
                "commit": {"enabled": False, "branches": ["main", "release/*"]},
                "pullRequest": {"enabled": True, "push": True},
                "baseImage": {"enabled": False, "type": "All"},
                "timers": [{"name": "nightly", "schedule": "0 2 * * *", "enabled": True}],
            },
            "supersedeQueuedRuns": False,
            "webhookSecret": "0123456789abcdef0123",
            "credentials": {
                "git": {"usernameSetting": "GIT_USER", "passwordSetting": "GIT_TOKEN"},
                "registries": [
                    {
                        "loginServer": "other.azurecr.io",
                        "usernameSetting": "OTHER_USER",
                        "passwordSetting": "OTHER_PASSWORD",
                    }
                ],
            },
        }
    )
    assert task.status is TaskStatus.DISABLED
    assert task.triggers.base_image_type is BaseImageTriggerType.ALL
    assert task.triggers.commit_branches == ("main", "release/*")
    assert task.secrets.secret_build_args == {"TOKEN": "hunter2"}
    assert task.build.secret_build_args == {}
    assert task.run_request().secret_build_args == {"TOKEN": "hunter2"}


def test_secrets_are_never_returned():
    task = parse({**MINIMAL, "secretBuildArgs": {"TOKEN": "hunter2"},
                  "webhookSecret": "0123456789abcdef0123"})  # fmt: skip
    text = json.dumps(task.to_api())
    assert "hunter2" not in text and "0123456789abcdef0123" not in text
    assert task.to_api()["secretBuildArgNames"] == ["TOKEN"]
    assert task.to_api()["webhookSecretSet"] is True


def test_a_put_without_secrets_keeps_them_and_a_get_answer_puts_back():
    first = parse({**MINIMAL, "secretBuildArgs": {"TOKEN": "hunter2"},
                   "webhookSecret": "0123456789abcdef0123"})  # fmt: skip
    again = parse(first.to_api(), existing=first)
    assert again.secrets == first.secrets
    assert again.create_time == first.create_time
    cleared = parse({**MINIMAL, "secretBuildArgs": {}, "webhookSecret": None}, existing=first)
    assert cleared.secrets.secret_build_args == {} and cleared.secrets.webhook_secret is None


@pytest.mark.parametrize("name", ["abcde", "my-task-1", "A" * 50, "Build01"])
def test_valid_names(name):
    check_task_name(name)


@pytest.mark.parametrize("name", ["abcd", "A" * 51, "-abcde", "abcde-", "my_task", "my task"])
def test_invalid_names(name):
    with pytest.raises(InvalidRequest, match="5 to 50"):
        check_task_name(name)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "context is missing"),
        ({"context": "file:///etc"}, "file://"),
        ({"context": "ext::sh -c touch% /tmp/x"}, "transport helper"),
        ({"context": "https://h/r.git#-bad"}, "invalid Git ref"),
        ({"context": "https://h/r.git#a..b"}, "invalid Git ref"),
        ({**MINIMAL, "images": ["app:{{.Run.Nope}}"]}, "unknown variable"),
        ({**MINIMAL, "images": ["UPPER:v1"]}, "UPPER"),
        ({**MINIMAL, "buildArgs": {"V": "{{.Run.Id}}"}}, "unknown variable"),
        ({**MINIMAL, "status": "Paused"}, "Enabled, Disabled"),
        ({**MINIMAL, "timeout": 0}, "timeout"),
        ({**MINIMAL, "colour": "blue"}, "unknown field"),
        ({**MINIMAL, "triggers": {"commit": {"enabled": "yes"}}}, "true or false"),
        ({**MINIMAL, "triggers": {"baseImage": {"type": "Sometimes"}}}, "Runtime, All"),
        ({**MINIMAL, "triggers": {"timers": [{"name": "t", "schedule": "nope"}]}}, "schedule"),
        (
            {
                **MINIMAL,
                "triggers": {
                    "timers": [
                        {"name": "t", "schedule": "0 * * * *"},
                        {"name": "T", "schedule": "5 * * * *"},
                    ]
                },
            },
            "unique",
        ),  # fmt: skip
        ({**MINIMAL, "triggers": {"commit": {"branches": ["-x"]}}}, "branch"),
        ({**MINIMAL, "credentials": {"git": {"passwordSetting": "ghp_abc/def"}}}, "setting"),
        ({**MINIMAL, "credentials": {"registries": [{"loginServer": "r.io"}]}}, "Setting"),
        ({**MINIMAL, "webhookSecret": "short"}, "16"),
        ({**MINIMAL, "name": "other-task"}, "URL names"),
    ],
)
def test_refused_bodies(body, message):
    with pytest.raises(InvalidRequest, match=message):
        parse(body)


def test_values_may_come_at_run_time():
    parse({**MINIMAL, "images": ["app:{{.Values.tag}}"]})


@pytest.mark.parametrize(
    ("context", "branches", "pushed", "default", "follows"),
    [
        ("https://h/o/r.git", (), "main", "main", True),
        ("https://h/o/r.git", (), "dev", "main", False),
        ("https://h/o/r.git", (), "main", None, False),
        ("https://h/o/r.git#dev", (), "dev", "main", True),
        ("https://h/o/r.git#dev:src", (), "main", "main", False),
        ("https://h/o/r.git#main", ("release/*",), "release/1.2", "main", True),
        ("https://h/o/r.git#main", ("release/*",), "main", "main", False),
    ],
)
def test_branch_rules(context, branches, pushed, default, follows):
    task = parse({"context": context, "triggers": {"commit": {"branches": list(branches)}}})
    assert task.follows_branch(pushed, default) is follows


def test_pull_request_runs_do_not_push_unless_the_task_says_so():
    task = parse(MINIMAL)
    assert task.run_request(pull_request=True).no_push
    assert not task.run_request().no_push
    pushing = parse({**MINIMAL, "triggers": {"pullRequest": {"enabled": True, "push": True}}})
    assert not pushing.run_request(pull_request=True).no_push


def test_repo_key_matches_webhook_forms():
    assert (
        parse({"context": "git@GitHub.com:Owner/App.git#main"}).repo_key == "github.com/owner/app"
    )
    assert parse({"context": "https://h.example/ctx.tar.gz"}).repo_key is None


def test_the_table_entity_round_trips():
    task = parse({**MINIMAL, "secretBuildArgs": {"TOKEN": "hunter2"}, "webhookSecret": "s" * 20,
                  "triggers": {"timers": [{"name": "n", "schedule": "0 2 * * *"}]},
                  "credentials": {"git": {"passwordSetting": "GIT_TOKEN"}}})  # fmt: skip
    entity = task_to_entity(task)
    assert "hunter2" not in entity["definition"] and "s" * 20 not in entity["definition"]
    assert entity["repoKey"] == "github.com/owner/app"
    assert entity_to_task(entity) == task
