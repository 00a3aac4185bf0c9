"""Webhook deliveries fuzzed: payload views of GitHub, GitLab and Gitea, the
signature and token checks, the whole trigger service behind a valid signature,
and registry notifications. Nothing but the documented refusals escapes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidRequest, PayloadTooLarge, Unauthorized
from shared.registry_webhook import check_bearer, pushed_references
from shared.task_parsing import parse_task
from shared.task_triggers import TriggerServices, handle_git_webhook
from shared.webhooks import gitea, github, gitlab
from shared.webhooks.events import GitEvent, Ignored
from shared.webhooks.signatures import verify_hmac_sha256, verify_token
from tests.support.task_fakes import FakeDeliveryStore, FakeRunStore, FakeTaskStore, fake_submission
from tests.unit.fuzz.strategies import deeply_nested, hostile_text, json_values, parsed_or_refused
from tests.unit.webhook_payloads import payload

NOW = datetime(2024, 5, 1, tzinfo=UTC)
SECRET = "shared-webhook-secret"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROVIDERS = {"github": github.PROVIDER, "gitlab": gitlab.PROVIDER, "gitea": gitea.PROVIDER}
SAMPLES = {
    "github": ["github_push", "github_pull_request", "github_ping"],
    "gitlab": ["gitlab_push", "gitlab_merge_request"],
    "gitea": ["gitea_push", "gitea_pull_request"],
}
EVENTS = {
    "github": ("x-github-event", ["push", "pull_request", "ping", "", "issues"]),
    "gitlab": ("x-gitlab-event", ["Push Hook", "Merge Request Hook", "Tag Push Hook", ""]),
    "gitea": ("x-gitea-event", ["push", "pull_request", "create", ""]),
}


def _mutated(sample: dict, paths: list[list[str]], values: list) -> dict:
    """The sample with the value at each path (key by key) replaced."""
    data = copy.deepcopy(sample)
    for path, value in zip(paths, values, strict=False):
        node = data
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path:
            node[path[-1]] = value
    return data


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield [*prefix, key]
            yield from _paths(item, (*prefix, key))


@st.composite
def deliveries(draw):
    """``(provider name, headers, payload)``: a real sample with hostile values, or any JSON."""
    name = draw(st.sampled_from(sorted(PROVIDERS)))
    header, events = EVENTS[name]
    sample = payload(draw(st.sampled_from(SAMPLES[name])))
    paths = list(_paths(sample))
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4))
        values = draw(st.lists(json_values, min_size=len(chosen), max_size=len(chosen)))
        data = _mutated(sample, chosen, values)
    else:
        data = draw(st.dictionaries(hostile_text, json_values, max_size=5))
    event = draw(st.one_of(st.sampled_from(events), hostile_text))
    return name, {header: event}, data


@FUZZ
@given(deliveries())
def test_payload_views_parse_or_refuse(delivery):
    name, headers, data = delivery
    event = parsed_or_refused(PROVIDERS[name].parse, headers, data)
    assert event is None or isinstance(event, GitEvent | Ignored)
    if isinstance(event, Ignored):
        assert event.reason.strip()


_signature_headers = st.dictionaries(
    st.sampled_from(
        ["x-hub-signature-256", "x-gitea-signature", "x-gitlab-token", "x-github-delivery",
         "x-gitea-delivery", "x-gitlab-event-uuid", "idempotency-key", "content-type"]
    ),
    hostile_text,
    max_size=5,
)  # fmt: skip


@FUZZ
@given(
    st.sampled_from(sorted(PROVIDERS)), _signature_headers, st.binary(max_size=200), hostile_text
)
def test_signature_checks_never_raise_and_refuse_forgeries(name, headers, body, secret):
    provider = PROVIDERS[name]
    valid = provider.signature_valid(headers, body, secret)
    assert isinstance(valid, bool)
    assert isinstance(provider.has_signature(headers), bool)
    delivery = provider.delivery_id(headers)
    assert delivery is None or isinstance(delivery, str)
    if valid:  # only the right HMAC (or token) of this body under this secret passes
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given_value = " ".join(headers.values()).lower()
        assert secret and (expected in given_value or secret in headers.values())


@FUZZ
@given(st.binary(max_size=64), hostile_text, hostile_text)
def test_hmac_and_token_checks(body, secret, signature):
    assert verify_hmac_sha256(body, "", signature) is False
    assert verify_token("", signature) is False
    right = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert verify_hmac_sha256(body, secret, right) is bool(secret)
    assert verify_hmac_sha256(body, secret, "sha256=" + right, "sha256=") is bool(secret)
    if signature.strip().lower() != right:
        assert verify_hmac_sha256(body, secret, signature) is False


def _services() -> TriggerServices:
    body = {"context": "https://github.com/Codertocat/Hello-World.git", "images": ["a:{{.Run.ID}}"]}
    task = parse_task("hello-world", json.dumps(body).encode(), None, NOW, "localhost:5000")
    return TriggerServices(
        tasks=FakeTaskStore(task),
        deliveries=FakeDeliveryStore(),
        submission=fake_submission(FakeRunStore()),
        webhook_secret=SECRET,
        sleep=lambda seconds: None,
    )


def _signed(name: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    signed = {
        "github": {"x-hub-signature-256": "sha256=" + signature, "x-github-delivery": "d1"},
        "gitlab": {"x-gitlab-token": SECRET, "x-gitlab-event-uuid": "d1"},
        "gitea": {"x-gitea-signature": signature, "x-gitea-delivery": "d1"},
    }[name]
    return {**headers, **signed}


@FUZZ
@given(deliveries(), st.sampled_from(["", "application/json", "application/x-www-form-urlencoded"]))
def test_signed_deliveries_answer_or_are_refused_with_a_reason(delivery, content_type):
    name, headers, data = delivery
    body = json.dumps(data).encode()
    headers = {**_signed(name, headers, body), "content-type": content_type}
    answer = parsed_or_refused(
        handle_git_webhook, PROVIDERS[name], headers, body, _services(), NOW,
        refusals=(InvalidRequest, Unauthorized, PayloadTooLarge),
    )  # fmt: skip
    if answer is not None:
        status, result = answer
        assert status in (200, 202) and isinstance(result["runs"], list)


@FUZZ
@given(st.sampled_from(sorted(PROVIDERS)), _signature_headers, st.binary(max_size=300))
def test_unsigned_or_hostile_bodies_are_refused_or_answered(name, headers, body):
    parsed_or_refused(
        handle_git_webhook, PROVIDERS[name], headers, body, _services(), NOW,
        refusals=(InvalidRequest, Unauthorized, PayloadTooLarge),
    )  # fmt: skip


def test_a_signed_body_nested_past_the_recursion_limit_is_refused():
    body = deeply_nested()
    headers = _signed("github", {"x-github-event": "push"}, body)
    assert parsed_or_refused(
        handle_git_webhook, github.PROVIDER, headers, body, _services(), NOW,
        refusals=(InvalidRequest,),
    ) is None  # fmt: skip


@FUZZ
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_registry_notifications_parse_or_are_refused(body):
    references = parsed_or_refused(pushed_references, body)
    assert references is None or all(isinstance(ref, str) for ref in references)


def test_a_registry_notification_nested_past_the_recursion_limit_is_refused():
    assert parsed_or_refused(pushed_references, deeply_nested()) is None


@FUZZ
@given(st.one_of(st.none(), hostile_text, hostile_text.map("Bearer ".__add__)), hostile_text)
def test_bearer_checks_refuse_all_but_the_secret(header, secret):
    try:
        check_bearer(header, secret)
    except Unauthorized as exc:
        assert str(exc).strip()
        return
    assert secret and header is not None and header.split(" ", 1)[1].strip() == secret
