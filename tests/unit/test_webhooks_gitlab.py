import pytest

from shared.webhooks.events import EventKind, GitEvent, Ignored
from shared.webhooks.gitlab import PROVIDER
from tests.unit.webhook_payloads import payload


def _parse(event: str, body: dict):
    return PROVIDER.parse({"x-gitlab-event": event}, body)


def test_push_hook():
    event = _parse("Push Hook", payload("gitlab_push"))
    assert isinstance(event, GitEvent)
    assert (event.kind, event.branch, event.commit, event.default_branch) == (
        EventKind.PUSH,
        "master",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "master",
    )
    assert "git@example.com:mike/diaspora.git" in event.repo_urls
    assert "http://example.com/mike/diaspora.git" in event.repo_urls


def test_branch_deletion_and_tag_push_are_ignored():
    deleted = {**payload("gitlab_push"), "after": "0" * 40, "checkout_sha": None}
    assert isinstance(_parse("Push Hook", deleted), Ignored)
    tag = {**payload("gitlab_push"), "ref": "refs/tags/v1", "object_kind": "tag_push"}
    assert isinstance(_parse("Tag Push Hook", tag), Ignored)
    assert isinstance(_parse("Push Hook", tag), Ignored)


@pytest.mark.parametrize("action", ["open", "reopen"])
def test_merge_request_hook(action):
    body = payload("gitlab_merge_request")
    body["object_attributes"]["action"] = action
    event = _parse("Merge Request Hook", body)
    assert isinstance(event, GitEvent)
    assert (event.kind, event.branch, event.target_branch, event.pr_number) == (
        EventKind.PULL_REQUEST,
        "ms-viewport",
        "master",
        1,
    )
    assert event.commit == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def test_an_update_builds_only_when_it_brought_commits():
    body = payload("gitlab_merge_request")
    body["object_attributes"]["action"] = "update"
    assert isinstance(_parse("Merge Request Hook", body), Ignored)
    body["object_attributes"]["oldrev"] = "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert isinstance(_parse("Merge Request Hook", body), GitEvent)


@pytest.mark.parametrize("action", ["close", "merge", "approved"])
def test_other_merge_request_actions_are_ignored(action):
    body = payload("gitlab_merge_request")
    body["object_attributes"]["action"] = action
    assert isinstance(_parse("Merge Request Hook", body), Ignored)


def test_token_and_delivery_id():
    headers = {"x-gitlab-token": "s3cret", "x-gitlab-event-uuid": "1f3c5a8e-0000-4000-8000-1"}
    assert PROVIDER.signature_valid(headers, b"{}", "s3cret")
    assert not PROVIDER.signature_valid(headers, b"{}", "other")
    assert PROVIDER.delivery_id(headers) == "1f3c5a8e-0000-4000-8000-1"
    assert PROVIDER.delivery_id({"idempotency-key": "k1"}) == "k1"
