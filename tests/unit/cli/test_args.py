"""K=V parsing and what `drydock build` would send, without HTTP."""

from __future__ import annotations

import pytest

from cli.build_request import (
    BuildOptions,
    InvalidOption,
    archive_query_params,
    is_remote_source,
    parse_key_value,
    parse_key_values,
    url_request_body,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1", ("A", "1")),
        ("A=", ("A", "")),
        ("URL=http://x/?a=b", ("URL", "http://x/?a=b")),
        (" A =x y", ("A", "x y")),
    ],
)
def test_parse_key_value(text: str, expected: tuple[str, str]) -> None:
    assert parse_key_value(text) == expected


@pytest.mark.parametrize("text", ["A", "=1", "", "MY KEY=1"])
def test_parse_key_value_refuses_malformed(text: str) -> None:
    with pytest.raises(InvalidOption, match="--secret-build-arg"):
        parse_key_value(text, "--secret-build-arg")


def test_a_later_duplicate_key_wins() -> None:
    assert parse_key_values(["A=1", "B=2", "A=3"]) == {"A": "3", "B": "2"}


@pytest.mark.parametrize(
    ("source", "remote"),
    [
        (".", False),
        ("./src", False),
        ("/abs/path", False),
        ("C:ontext", False),
        ("https://git.example.com/app.git#main:src", True),
        ("http://127.0.0.1:8000/context.tar.gz", True),
        ("git://127.0.0.1/app.git", True),
        ("ssh://git@host/app.git", True),
        ("git@github.com:org/app.git#v1", True),
        ("HTTPS://EXAMPLE.COM/x.tar.gz", True),
    ],
)
def test_is_remote_source(source: str, remote: bool) -> None:
    assert is_remote_source(source) is remote


FULL = BuildOptions(
    images=("hello:{{.Run.ID}}", "hello:latest"),
    file="docker/Dockerfile",
    build_args={"A": "1", "B": "x=y"},
    secret_build_args={"TOKEN": "s3cret"},
    no_push=True,
    platform="linux/amd64",
    target="final",
    timeout=600,
)


def test_archive_query_params_with_every_option() -> None:
    assert archive_query_params(FULL) == [
        ("image", "hello:{{.Run.ID}}"),
        ("image", "hello:latest"),
        ("file", "docker/Dockerfile"),
        ("buildArg", "A=1"),
        ("buildArg", "B=x=y"),
        ("secretBuildArg", "TOKEN=s3cret"),
        ("noPush", "true"),
        ("platform", "linux/amd64"),
        ("target", "final"),
        ("timeout", "600"),
    ]


def test_archive_query_params_leave_out_what_is_unset() -> None:
    assert archive_query_params(BuildOptions()) == []
    assert archive_query_params(BuildOptions(images=("a:1",))) == [("image", "a:1")]


def test_url_request_body_with_every_option() -> None:
    assert url_request_body("https://h/app.git#main:src", FULL) == {
        "context": "https://h/app.git#main:src",
        "file": "docker/Dockerfile",
        "images": ["hello:{{.Run.ID}}", "hello:latest"],
        "buildArgs": {"A": "1", "B": "x=y"},
        "secretBuildArgs": {"TOKEN": "s3cret"},
        "noPush": True,
        "platform": "linux/amd64",
        "target": "final",
        "timeout": 600,
    }


def test_url_request_body_leaves_out_what_is_unset() -> None:
    assert url_request_body("https://h/c.tar.gz", BuildOptions()) == {
        "context": "https://h/c.tar.gz"
    }
