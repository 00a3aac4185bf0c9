"""Base-image discovery from Dockerfiles."""

from __future__ import annotations

from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.dockerfile_deps import DockerfileDeps, discover_base_images
from shared.errors import InvalidRequest

DIGEST = "sha256:" + "0" * 64

CASES = [
    pytest.param(
        "FROM alpine:3.19\nRUN true\n", {}, None, DockerfileDeps("alpine:3.19", ()), id="single"
    ),
    pytest.param(
        """
        FROM golang:1.22 AS Build
        RUN go build
        FROM gcr.io/distroless/static
        COPY --from=build /out /app
        """,
        {},
        None,
        DockerfileDeps("gcr.io/distroless/static", ("golang:1.22",)),
        id="multi-stage, alias case-insensitive",
    ),
    pytest.param(
        """
        FROM node:20 AS deps
        FROM deps AS build
        FROM build
        """,
        {},
        None,
        DockerfileDeps("node:20", ()),
        id="chain of aliases",
    ),
    pytest.param(
        """
        ARG BASE=alpine
        ARG VERSION=3.18
        FROM ${BASE}:$VERSION
        """,
        {"VERSION": "3.19"},
        None,
        DockerfileDeps("alpine:3.19", ()),
        id="ARG defaults and build-arg override",
    ),
    pytest.param(
        """
        ARG REGISTRY
        ARG TAG=
        FROM ${REGISTRY:-docker.io}/library/python:${TAG:-3.12}-slim
        """,
        {},
        None,
        DockerfileDeps("docker.io/library/python:3.12-slim", ()),
        id="default substitution",
    ),
    pytest.param(
        """
        ARG REGISTRY
        FROM ${REGISTRY:-docker.io}/app
        """,
        {"REGISTRY": "localhost:5000"},
        None,
        DockerfileDeps("localhost:5000/app", ()),
        id="build arg over an ARG without default",
    ),
    pytest.param(
        """
        ARG SUFFIX
        FROM app${SUFFIX:+-}${SUFFIX}
        """,
        {"SUFFIX": "dev"},
        None,
        DockerfileDeps("app-dev", ()),
        id="alternate value",
    ),
    pytest.param(
        "FROM app:$UNDECLARED\nFROM ok\n",
        {"UNDECLARED": "x"},
        None,
        None,  # undeclared args are not build args for FROM: "app:" is invalid
        id="undeclared arg",
    ),
    pytest.param(
        """
        FROM --platform=$BUILDPLATFORM golang:1.22 AS build
        FROM --platform=linux/arm64 debian:12
        """,
        {},
        None,
        DockerfileDeps("debian:12", ("golang:1.22",)),
        id="platform flag",
    ),
    pytest.param(
        "FROM base-${TARGETARCH}\n",
        {"TARGETARCH": "arm64"},
        None,
        DockerfileDeps("base-arm64", ()),
        id="automatic platform args",
    ),
    pytest.param(
        """
        FROM busybox AS build
        FROM scratch
        COPY --from=build /bin/busybox /
        """,
        {},
        None,
        DockerfileDeps(None, ("busybox",)),
        id="scratch runtime",
    ),
    pytest.param(
        """
        FROM scratch AS base
        FROM base
        """,
        {},
        None,
        DockerfileDeps(None, ()),
        id="chain to scratch",
    ),
    pytest.param(
        """
        FROM alpine AS one
        FROM debian:12
        COPY --from=0 /a /a
        COPY --from=one /b /b
        COPY --link --from=nginx:1.25 /etc/nginx /etc/nginx
        COPY --chown=1:1 --from=${NOT_DECLARED:-busybox} /bin /bin
        RUN --mount=type=bind,from=tools:1,target=/t --mount=type=cache,target=/c true
        """,
        {},
        None,
        DockerfileDeps("debian:12", ("alpine", "nginx:1.25", "busybox", "tools:1")),
        id="COPY --from index, alias, image; RUN --mount from",
    ),
    pytest.param(
        """
        FROM alpine AS test
        FROM alpine:3.19 AS release
        COPY --from=alpine /x /x
        """,
        {},
        None,
        DockerfileDeps("alpine:3.19", ("alpine",)),
        id="dedup, runtime excluded",
    ),
    pytest.param(
        """
        FROM golang AS build
        FROM debian AS test
        FROM gcr.io/distroless/base AS final
        """,
        {},
        "TEST",
        DockerfileDeps("debian", ("golang",)),
        id="target",
    ),
    pytest.param(
        """
        FROM python:3.12 AS base
        ARG WHEELS=wheels:1
        COPY --from=$WHEELS /w /w
        FROM base
        """,
        {"WHEELS": "wheels:2"},
        None,
        DockerfileDeps("python:3.12", ("wheels:2",)),
        id="stage ARG in COPY --from",
    ),
    pytest.param(
        """
        # syntax=docker/dockerfile:1
        # escape=`
        FROM mcr.microsoft.com/windows/servercore:ltsc2022 `
            AS base
        FROM base
        """,
        {},
        None,
        DockerfileDeps("mcr.microsoft.com/windows/servercore:ltsc2022", ()),
        id="escape directive and continuation",
    ),
    pytest.param(
        """
        from alpine as b  # trailing words are not comments in Docker
        """,
        {},
        None,
        None,
        id="extra words after alias",
    ),
    pytest.param(
        """
        FROM alpine
        RUN <<EOF
        FROM evil:latest
        EOF
        COPY <<-EOT /x
        \tFROM evil2
        \tEOT
        RUN echo "a<<b"
        """,
        {},
        None,
        DockerfileDeps("alpine", ()),
        id="heredoc bodies are not instructions",
    ),
    pytest.param(
        "FROM alpine@" + DIGEST + "\n",
        {},
        None,
        DockerfileDeps("alpine@" + DIGEST, ()),
        id="digest kept as written",
    ),
    pytest.param(
        'ARG A=x\nARG B=${A}y C="q r"\nFROM img:$B\n',
        {},
        None,
        DockerfileDeps("img:xy", ()),
        id="ARG default refers to earlier ARG",
    ),
]


@pytest.mark.parametrize(("dockerfile", "build_args", "target", "expected"), CASES)
def test_discovers_base_images(
    dockerfile: str, build_args: dict[str, str], target: str | None, expected: DockerfileDeps | None
) -> None:
    text = dedent(dockerfile).lstrip("\n")  # parser directives must be on the first lines
    if expected is None:
        with pytest.raises(InvalidRequest):
            discover_base_images(text, build_args, target)
    else:
        assert discover_base_images(text, build_args, target) == expected


@pytest.mark.parametrize(
    ("dockerfile", "target", "message"),
    [
        ("", None, "no FROM"),
        ("# just a comment\n", None, "no FROM"),
        ("ARG X=1\n", None, "no FROM"),
        ("RUN true\nFROM alpine\n", None, "line 1: only ARG"),
        ("FROM alpine\nFROM\n", None, "line 2"),
        ("ARG BASE\nFROM $BASE\n", None, "line 2: '$BASE' is empty after substitution"),
        ("FROM alpine\nFROM Alpine\n", None, "line 2: invalid image reference 'Alpine'"),
        ("FROM alpine AS 1st\n", None, "invalid stage name"),
        ("FROM a AS x\nFROM b AS X\n", None, "duplicate stage name"),
        ("FROM alpine\nFRM x\n", None, "line 2: unknown instruction 'FRM'"),
        ("FROM alpine AS a\n", "b", "target stage 'b' is not in the Dockerfile; stages: a"),
        ("FROM a\nCOPY --from=1 / /\n", None, "--from=1 names no earlier stage"),
        ("FROM ${X:?required}\n", None, "unsupported substitution"),
        ("FROM ${X\n", None, "unclosed"),
        ("ARG 'X\nFROM a\n", None, "unbalanced quotes"),
        ("ARG 1X=2\nFROM a\n", None, "not a valid ARG name"),
        ("ARG\nFROM a\n", None, "ARG needs a name"),
    ],
)
def test_refuses(dockerfile: str, target: str | None, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        discover_base_images(dockerfile, target=target)
    assert message in str(caught.value)


@pytest.mark.parametrize("from_value", ["", "$EMPTY"])
def test_empty_copy_from_means_the_context(from_value: str) -> None:
    dockerfile = f"FROM a\nARG EMPTY=\nCOPY --from={from_value} / /\n"
    assert discover_base_images(dockerfile) == DockerfileDeps("a", ())


def test_byte_order_mark_is_ignored() -> None:
    assert discover_base_images("\ufeffFROM alpine\n") == DockerfileDeps("alpine", ())


def test_escaped_dollar_is_literal() -> None:
    with pytest.raises(InvalidRequest, match=r"'img:\$X'"):
        discover_base_images("ARG X=1\nFROM img:\\$X\n")


_words = st.sampled_from(
    [
        "FROM",
        "ARG",
        "COPY",
        "RUN",
        "AS",
        "alpine",
        "a",
        "b",
        "$A",
        "${A:-x}",
        "--from=a",
        "--from=0",
        "--platform=$P",
        "scratch",
        "A=1",
        "\\",
        "\n",
        " ",
        "#",
        "<<EOF",
        "EOF",
        "${",
    ]
)


@given(st.one_of(st.text(max_size=80), st.lists(_words, max_size=25).map(" ".join)))
def test_arbitrary_text_is_parsed_or_refused(dockerfile: str) -> None:
    try:
        deps = discover_base_images(dockerfile, {"A": "v"})
    except InvalidRequest:
        return
    assert deps.runtime != "scratch"
    assert "scratch" not in deps.buildtime
    assert deps.runtime not in deps.buildtime
    assert len(set(deps.buildtime)) == len(deps.buildtime)
