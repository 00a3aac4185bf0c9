import pytest

from shared.webhooks.events import EventKind, GitEvent, Ignored
from shared.webhooks.github import PROVIDER
from tests.unit.webhook_payloads import payload


def _parse(event: str, body: dict):
    return PROVIDER.parse({"x-github-event": event}, body)


def test_push_to_a_branch():
    event = _parse("push", payload("github_push"))
    assert event == GitEvent(
        kind=EventKind.PUSH,
        repo_urls=(
            "https://github.com/Codertocat/Hello-World.git",
            "git@github.com:Codertocat/Hello-World.git",
            "git://github.com/Codertocat/Hello-World.git",
            "https://github.com/Codertocat/Hello-World",
        ),
        branch="main",
        commit="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        default_branch="main",
    )


def test_tag_pushes_and_branch_deletions_are_ignored():
    tag = {**payload("github_push"), "ref": "refs/tags/v1.0"}
    deleted = {**payload("github_push"), "deleted": True, "after": "0" * 40}
    assert isinstance(_parse("push", tag), Ignored)
    assert isinstance(_parse("push", deleted), Ignored)


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
def test_pull_requests_with_new_code(action):
    event = _parse("pull_request", {**payload("github_pull_request"), "action": action})
    assert isinstance(event, GitEvent)
    assert (event.kind, event.branch, event.target_branch, event.pr_number) == (
        EventKind.PULL_REQUEST,
        "changes",
        "main",
        2,
    )
    assert event.commit == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.mark.parametrize("action", ["closed", "labeled", "edited", "assigned"])
def test_other_pull_request_actions_are_ignored(action):
    event = _parse("pull_request", {**payload("github_pull_request"), "action": action})
    assert isinstance(event, Ignored)


@pytest.mark.parametrize("event", ["ping", "issues", "star", ""])
def test_ping_and_unknown_events_are_ignored(event):
    assert isinstance(_parse(event, payload("github_ping")), Ignored)


def test_headers():
    headers = {"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    assert PROVIDER.delivery_id(headers) == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert not PROVIDER.has_signature(headers)
    assert PROVIDER.has_signature({"x-hub-signature-256": "sha256=00"})
