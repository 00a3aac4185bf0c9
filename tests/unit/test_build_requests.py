import json

import pytest

from shared.build_requests import parse_json_build_request, parse_query_build_request
from shared.errors import InvalidRequest


def _json(**fields):
    return json.dumps(fields).encode()


def test_json_form_with_every_field():
    request = parse_json_build_request(
        _json(
            context="https://example.com/app.git#main:web",
            file="web/Dockerfile",
            images=["app:{{.Run.ID}}"],
            buildArgs={"A": "1", "N": 2},
            secretBuildArgs={"T": "s"},
            noPush=False,
            platform="linux/amd64",
            target="final",
            timeout=300,
        )
    )
    assert request.context == "https://example.com/app.git#main:web"
    assert request.images == ["app:{{.Run.ID}}"]
    assert request.build_args == {"A": "1", "N": "2"}
    assert request.secret_build_args == {"T": "s"}
    assert request.timeout == 300


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (_json(file="Dockerfile"), "context is missing"),
        (_json(context=5), "context must be a string"),
        (_json(context="https://x.io/a.git", images="app"), "images must be a list"),
        (_json(context="https://x.io/a.git", buildArgs=["A=1"]), "buildArgs must be an object"),
        (
            _json(context="https://x.io/a.git", buildArgs={"A": {"b": 1}}),
            "buildArgs.A must be a string",
        ),
        (_json(context="https://x.io/a.git", noPush="maybe"), "noPush must be true or false"),
        (_json(context="https://x.io/a.git", timeout="soon"), "timeout must be a whole number"),
        (_json(context="https://x.io/a.git", timeout=0), "between 1 and"),
        (_json(context="https://x.io/a.git", timeout=True), "between 1 and"),
        (_json(context="https://x.io/a.git", colour="red"), "unknown field(s) colour"),
        (_json(context="https://x.io/a.git", file="../etc/passwd"), "must be a path inside"),
        (_json(context="https://x.io/a.git", platform="amd64"), "platform 'amd64' is invalid"),
        (_json(context="https://x.io/a.git", buildArgs={"BAD-NAME": "1"}), "build arg name"),
        (_json(context="https://x.io/a.git", images=[" "]), "image reference is empty"),
        (_json(context="file:///etc"), "file"),
        (_json(context="ext::sh -c touch% /tmp/x"), "ext"),
        (_json(context="-upload-pack=touch"), "-"),
    ],
)
def test_json_form_refusals_say_what_to_fix(body, message):
    with pytest.raises(InvalidRequest) as caught:
        parse_json_build_request(body)
    assert message.lower() in str(caught.value).lower()


def test_query_form_keeps_repeated_parameters():
    request = parse_query_build_request(
        [
            ("image", "a:1"),
            ("image", "b:{{.Run.ID}}"),
            ("buildArg", "X=1"),
            ("buildArg", "Y=a=b"),
            ("secretBuildArg", "TOKEN=s3"),
            ("noPush", "true"),
            ("timeout", "120"),
            ("code", "key"),
        ]
    )
    assert request.context is None
    assert request.images == ["a:1", "b:{{.Run.ID}}"]
    assert request.build_args == {"X": "1", "Y": "a=b"}
    assert request.secret_build_args == {"TOKEN": "s3"}
    assert request.no_push is True
    assert request.timeout == 120


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("buildArg", "NOEQUALS")], "must look like NAME=value"),
        ([("tag", "x")], "unknown query parameter(s) tag"),
        ([("timeout", "-5")], "timeout must be between"),
    ],
)
def test_query_form_refusals(query, message):
    with pytest.raises(InvalidRequest) as caught:
        parse_query_build_request(query)
    assert message in str(caught.value)
