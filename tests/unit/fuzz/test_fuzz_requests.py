"""Request bodies and query strings of the REST API, fuzzed: build requests, run
requests, task bodies and manual-run bodies parse or are refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.build_requests import parse_json_build_request, parse_query_build_request
from shared.task_parsing import check_task_name, parse_task
from shared.task_runs import manual_run_values
from shared.taskfile.run_requests import parse_json_run_request, parse_query_run_request
from tests.unit.fuzz.strategies import (
    as_body,
    deeply_nested,
    hostile_text,
    json_values,
    objects_with,
    parsed_or_refused,
)

NOW = datetime(2024, 5, 1, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_contexts = st.one_of(
    st.sampled_from(
        [
            "https://github.com/org/app.git#main:web",
            "https://example.com/ctx.tar.gz",
            "git@github.com:org/app.git",
            "ext::sh -c touch% /tmp/pwned",
            "--upload-pack=touch /tmp/pwned",
            "file:///etc",
            "https://169.254.169.254/latest/meta-data.tar.gz",
            "https://github.com/org/app.git#refs/../../x",
            "https://github.com/org/app.git#main@{1}",
        ]
    ),
    hostile_text,
)
_names = st.one_of(st.sampled_from(["TOKEN", "a_b", "1x", "", "A-B", "x\n"]), hostile_text)
_maps = st.dictionaries(_names, st.one_of(hostile_text, st.integers(), st.booleans()), max_size=3)
_templated = st.one_of(
    st.sampled_from(["app:{{.Run.ID}}", "{{.Values.x}}", "{{ .Nope }}", "{{", "a:b:c", "UP:x"]),
    hostile_text,
)
_build_fields = {
    "context": _contexts,
    "file": st.sampled_from(["Dockerfile", "../Dockerfile", "/etc/passwd", "-f", "a\x00b"]),
    "images": st.lists(_templated, max_size=3),
    "buildArgs": _maps,
    "secretBuildArgs": _maps,
    "noPush": st.one_of(st.booleans(), st.sampled_from(["true", "no"])),
    "platform": st.sampled_from(["linux/amd64", "linux/arm64/v8", "LINUX", "a/b/c/d"]),
    "target": st.sampled_from(["final", "-x", "a b"]),
    "timeout": st.one_of(st.integers(-5, 30000), st.sampled_from(["60", "1e3", True, 1.5])),
}
_query_names = st.sampled_from(
    ["image", "file", "buildArg", "secretBuildArg", "noPush", "platform", "target", "timeout",
     "code", "set", "cmd"]
)  # fmt: skip
_query = st.lists(st.tuples(st.one_of(_query_names, hostile_text), hostile_text), max_size=6)


@FUZZ
@given(objects_with(_build_fields))
def test_json_build_requests_parse_or_are_refused(data):
    parsed_or_refused(parse_json_build_request, as_body(data))


@FUZZ
@given(_query)
def test_query_build_requests_parse_or_are_refused(query):
    parsed_or_refused(parse_query_build_request, query)


_run_fields = {
    "context": _contexts,
    "file": st.sampled_from(["acr-task.yaml", "x.yml", "Dockerfile", "../t.yaml"]),
    "values": _maps,
    "set": _maps,
    "timeout": _build_fields["timeout"],
    "cmd": st.sampled_from(["busybox echo hi", " ", "--privileged busybox", "a\x00b"]),
    "taskFile": st.sampled_from(["steps:\n  - cmd: busybox\n", "x" * 70_000, "{{"]),
}


@FUZZ
@given(objects_with(_run_fields))
def test_json_run_requests_parse_or_are_refused(data):
    parsed_or_refused(parse_json_run_request, as_body(data))


@FUZZ
@given(_query)
def test_query_run_requests_parse_or_are_refused(query):
    parsed_or_refused(parse_query_run_request, query)


_timer = objects_with(
    {
        "name": st.sampled_from(["nightly", "", "a b", "x" * 60]),
        "schedule": st.sampled_from(["0 2 * * *", "*/5 * * * * *", "* * *", "61 * * * *"]),
        "enabled": st.booleans(),
    }
)
_triggers = objects_with(
    {
        "commit": objects_with(
            {"enabled": st.booleans(), "branches": st.lists(_names, max_size=2)}
        ),
        "pullRequest": objects_with({"enabled": st.booleans(), "push": st.booleans()}),
        "baseImage": objects_with(
            {"enabled": st.booleans(), "type": st.sampled_from(["Runtime", "All", "x"])}
        ),
        "timers": st.lists(_timer, max_size=2),
    }
)
_credentials = objects_with(
    {
        "git": objects_with({"usernameSetting": _names, "passwordSetting": _names}),
        "registries": st.lists(
            objects_with(
                {
                    "loginServer": st.sampled_from(["myreg.azurecr.io", "a/b", ""]),
                    "usernameSetting": _names,
                    "passwordSetting": _names,
                }
            ),
            max_size=2,
        ),
    }
)
_task_fields = {
    **_build_fields,
    "values": _maps,
    "status": st.sampled_from(["Enabled", "Disabled", "enabled"]),
    "triggers": _triggers,
    "supersedeQueuedRuns": st.booleans(),
    "credentials": _credentials,
    "webhookSecret": st.one_of(st.none(), st.text(min_size=10, max_size=20)),
    "name": st.sampled_from(["my-task", "other"]),
}


@FUZZ
@given(objects_with(_task_fields))
def test_task_bodies_parse_or_are_refused(data):
    task = parsed_or_refused(parse_task, "my-task", as_body(data), None, NOW, "localhost:5000")
    if task is not None:
        # What the API answers never carries a secret.
        answer = str(task.to_api())
        for secret in [task.secrets.webhook_secret, *task.secrets.secret_build_args.values()]:
            if secret and len(secret) > 3:
                assert secret not in answer


@FUZZ
@given(hostile_text)
def test_task_names_are_checked_with_a_reason(name):
    parsed_or_refused(check_task_name, name)


@FUZZ
@given(st.dictionaries(st.sampled_from(["values", "set", "x"]), json_values, max_size=3))
def test_manual_run_bodies_parse_or_are_refused(body):
    parsed_or_refused(manual_run_values, body)


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_as_bodies(body):
    parsed_or_refused(parse_json_build_request, body)
    parsed_or_refused(parse_json_run_request, body)
    parsed_or_refused(parse_task, "my-task", body, None, NOW, "localhost:5000")


@pytest.mark.parametrize(
    "parse",
    [
        parse_json_build_request,
        parse_json_run_request,
        lambda body: parse_task("my-task", body, None, NOW, "localhost:5000"),
    ],
    ids=["build", "run", "task"],
)
def test_json_nested_past_the_recursion_limit_is_refused(parse):
    assert parsed_or_refused(parse, deeply_nested()) is None
