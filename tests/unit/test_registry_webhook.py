import json

import pytest

from shared.errors import Unauthorized
from shared.registry_webhook import check_bearer, handle_registry_push, pushed_references


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", "Basic c2VjcmV0", "secret", "Bearer secret-but-longer"],
)
def test_anything_but_the_secret_is_refused(header):
    with pytest.raises(Unauthorized):
        check_bearer(header, "secret")


def test_the_secret_is_accepted_in_any_scheme_case():
    check_bearer("Bearer secret", "secret")
    check_bearer("bearer secret", "secret")


def test_an_unset_secret_refuses_everything():
    with pytest.raises(Unauthorized):
        check_bearer("Bearer ", "")


def _envelope(*pushes):
    return json.dumps(
        {
            "events": [
                {
                    "action": "push",
                    "target": {"repository": repo, "tag": tag, "mediaType": "m"},
                    "request": {"host": host},
                }
                for host, repo, tag in pushes
            ]
        }
    ).encode()


def test_pushed_references_are_normalised_and_deduplicated():
    body = _envelope(
        ("localhost:5000", "base", "1"),
        ("localhost:5000", "base", "1"),
        ("docker.io", "library/alpine", "3"),
    )
    assert pushed_references(body) == ["localhost:5000/base:1", "docker.io/library/alpine:3"]


def test_each_reference_is_checked_once():
    checked = []
    runs = handle_registry_push(
        _envelope(("localhost:5000", "a", "1"), ("localhost:5000", "b", "2")),
        lambda ref: checked.append(ref) or [f"run-for-{ref}"],
    )
    assert checked == ["localhost:5000/a:1", "localhost:5000/b:2"]
    assert runs == ["run-for-localhost:5000/a:1", "run-for-localhost:5000/b:2"]
