import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from shared.registry.notifications import PushedTag, parse_registry_notification

PAYLOADS = Path(__file__).parent / "payloads"


def test_a_distribution_envelope_yields_only_tag_pushes():
    tags = parse_registry_notification((PAYLOADS / "distribution_push.json").read_bytes())
    assert tags == [PushedTag("localhost:5000", "library/base", "1.0", "sha256:" + "2" * 64)]
    assert tags[0].reference == "localhost:5000/library/base:1.0"


def test_an_acr_push_event():
    (tag,) = parse_registry_notification((PAYLOADS / "acr_push.json").read_bytes())
    assert tag.reference == "myregistry.azurecr.io/hello-world:v1"


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{"action": "delete", "target": {"repository": "a", "tag": "1"}}]},
        {"events": [{"action": "push", "target": {"repository": "a"}, "request": {"host": "h"}}]},
        {"events": ["not an object", 5, None]},
        {"action": "chart_push", "target": {"repository": "a", "tag": "1"}},
    ],
)
def test_nothing_to_check(body):
    assert parse_registry_notification(json.dumps(body).encode()) == []


@pytest.mark.parametrize("body", [b"{oops", b"[]", b'"text"', b'{"hello": 1}'])
def test_refusals(body):
    with pytest.raises(InvalidRequest):
        parse_registry_notification(body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_any_json_is_parsed_or_refused_with_invalid_request(value):
    try:
        result = parse_registry_notification(json.dumps(value).encode())
    except InvalidRequest:
        return
    assert all(isinstance(tag, PushedTag) for tag in result)
