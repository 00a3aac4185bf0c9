"""Image references: Docker's grammar, Docker Hub defaults and the build's own registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from shared.image_ref import ImageRef, normalise_image_ref, parse_image_ref

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpine", ImageRef("docker.io", "library/alpine", "latest", None)),
        ("alpine:3.19", ImageRef("docker.io", "library/alpine", "3.19", None)),
        ("user/app", ImageRef("docker.io", "user/app", "latest", None)),
        ("docker.io/alpine", ImageRef("docker.io", "library/alpine", "latest", None)),
        ("index.docker.io/user/app:1", ImageRef("docker.io", "user/app", "1", None)),
        ("localhost:5000/x", ImageRef("localhost:5000", "x", "latest", None)),
        ("localhost/x:dev", ImageRef("localhost", "x", "dev", None)),
        ("myreg.azurecr.io/team/app:v1", ImageRef("myreg.azurecr.io", "team/app", "v1", None)),
        (
            "mcr.microsoft.com/dotnet/aspnet:8.0",
            ImageRef("mcr.microsoft.com", "dotnet/aspnet", "8.0", None),
        ),
        (f"alpine@{DIGEST}", ImageRef("docker.io", "library/alpine", None, DIGEST)),
        (f"alpine:3@{DIGEST}", ImageRef("docker.io", "library/alpine", "3", DIGEST)),
        ("[::1]:5000/app", ImageRef("[::1]:5000", "app", "latest", None)),
        ("a/b__c/d-e.f_g", ImageRef("docker.io", "a/b__c/d-e.f_g", "latest", None)),
        ("x:" + "A" * 128, ImageRef("docker.io", "library/x", "A" * 128, None)),
        ("ubuntu:_private-1.0", ImageRef("docker.io", "library/ubuntu", "_private-1.0", None)),
    ],
)
def test_parses_with_docker_defaults(text: str, expected: ImageRef) -> None:
    assert parse_image_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("myapp:v1", "localhost:5000/myapp:v1"),
        ("team/app", "localhost:5000/team/app:latest"),
        ("myapp", "localhost:5000/myapp:latest"),
        ("other.io/app:2", "other.io/app:2"),
        ("docker.io/alpine", "docker.io/library/alpine:latest"),
    ],
)
def test_bare_names_go_to_the_default_registry(text: str, expected: str) -> None:
    assert str(parse_image_ref(text, default_registry="localhost:5000")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("user/app", "docker.io/user/app:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        (f"alpine@{DIGEST}", f"docker.io/library/alpine@{DIGEST}"),
        (f"reg.io/a:1@{DIGEST}", f"reg.io/a:1@{DIGEST}"),
        ("docker.io/library/alpine:latest", "docker.io/library/alpine:latest"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise_image_ref(text) == expected


def test_name_and_str() -> None:
    ref = parse_image_ref(f"reg.io:443/a/b:t@{DIGEST}")
    assert ref.name == "reg.io:443/a/b"
    assert str(ref) == f"reg.io:443/a/b:t@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Alpine", "lowercase"),
        ("team/MyApp:1", "lowercase"),
        ("my app", "whitespace"),
        ("a..b", "'a..b'"),
        ("-app", "'-app'"),
        ("app-", "'app-'"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("reg.io/", "missing"),
        ("app:", "tag"),
        ("app:-x", "tag"),
        ("app:.x", "tag"),
        ("app:" + "a" * 129, "tag"),
        ("app@sha256:abc", "64"),
        ("app@sha512:" + "a" * 128, "only sha256"),
        ("app@" + DIGEST.upper(), "sha256"),
        ("bad_host.io:x/app", "registry host"),
        ("a" * 250 + "/" + "b" * 10, "255"),
    ],
)
def test_refuses_invalid_references(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_image_ref(text)
    assert message in str(caught.value)
    assert "write it as" in str(caught.value) or "give one" in str(caught.value)


def test_error_names_the_reference() -> None:
    with pytest.raises(InvalidRequest, match="'Team/App'"):
        parse_image_ref("Team/App")


@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_is_refused(text: str) -> None:
    try:
        ref = parse_image_ref(text)
    except InvalidRequest:
        return
    assert parse_image_ref(str(ref)) == ref  # the normal form is a fixed point


_component = st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)?", fullmatch=True)


@given(
    st.lists(_component, min_size=1, max_size=3),
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
)
def test_valid_references_round_trip(components: list[str], tag: str | None) -> None:
    text = "reg.example.com/" + "/".join(components) + (f":{tag}" if tag else "")
    ref = parse_image_ref(text)
    assert ref.repository == "/".join(components)
    assert ref.tag == (tag or "latest")
    assert normalise_image_ref(str(ref)) == str(ref)


def test_tag_characters_are_ascii_only() -> None:
    with pytest.raises(InvalidRequest, match="tag"):
        parse_image_ref("app:vé")
