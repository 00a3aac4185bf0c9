import hashlib
import hmac

from shared.webhooks.events import EventKind, GitEvent, Ignored
from shared.webhooks.gitea import PROVIDER
from tests.unit.webhook_payloads import payload


def test_push():
    event = PROVIDER.parse({"x-gitea-event": "push"}, payload("gitea_push"))
    assert isinstance(event, GitEvent)
    assert (event.kind, event.branch, event.commit, event.default_branch) == (
        EventKind.PUSH,
        "develop",
        "bffeb74224043ba2feb48d137756c8a9331c449a",
        "master",
    )
    assert "ssh://gitea@localhost:2222/gitea/webhooks.git" in event.repo_urls


def test_pull_request_synchronized():
    event = PROVIDER.parse({"x-gitea-event": "pull_request"}, payload("gitea_pull_request"))
    assert isinstance(event, GitEvent)
    assert (event.kind, event.branch, event.target_branch, event.pr_number) == (
        EventKind.PULL_REQUEST,
        "feature/health",
        "master",
        7,
    )


def test_forgejo_headers_and_other_events():
    assert isinstance(PROVIDER.parse({"x-forgejo-event": "push"}, payload("gitea_push")), GitEvent)
    assert isinstance(PROVIDER.parse({"x-gitea-event": "create"}, payload("gitea_push")), Ignored)


def test_signature_is_plain_hex_hmac():
    body = b'{"ref": "refs/heads/develop"}'
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    headers = {"x-gitea-signature": signature, "x-gitea-delivery": "d-1"}
    assert PROVIDER.signature_valid(headers, body, "s3cret")
    assert not PROVIDER.signature_valid(headers, body + b" ", "s3cret")
    assert PROVIDER.delivery_id(headers) == "d-1"
