"""A build step's bases: from the registry, or built by an earlier step of the run."""

from __future__ import annotations

import textwrap

import pytest

from shared.dockerfile_deps import discover_base_images
from shared.taskfile.build_bases import BuildBases, pulls_bases, split_bases
from shared.taskfile.model import DockerBuild

MULTI_STAGE = textwrap.dedent("""\
    ARG BASE
    FROM golang:1.22 AS build
    COPY --from=reg.example/tools:1 /bin/tool /bin/tool
    FROM $BASE
    COPY --from=build /out /app
    """)


@pytest.mark.parametrize(
    ("built_in_run", "expected"),
    [
        (
            set(),
            BuildBases(
                runtime="reg.example/base:r1",
                buildtime=("golang:1.22", "reg.example/tools:1"),
                from_run=(),
            ),
        ),
        (
            {"reg.example/base:r1"},
            BuildBases(
                runtime=None, buildtime=("golang:1.22", "reg.example/tools:1"),
                from_run=("reg.example/base:r1",),
            ),
        ),
        (  # written differently, the same image
            {"docker.io/library/golang:1.22", "reg.example/other:r1"},
            BuildBases(
                runtime="reg.example/base:r1", buildtime=("reg.example/tools:1",),
                from_run=("golang:1.22",),
            ),
        ),
        (  # another tag of the same repository is another image
            {"reg.example/base:r2", "reg.example/tools"},
            BuildBases(
                runtime="reg.example/base:r1",
                buildtime=("golang:1.22", "reg.example/tools:1"),
                from_run=(),
            ),
        ),
    ],
)  # fmt: skip
def test_split_bases(built_in_run, expected):
    deps = discover_base_images(MULTI_STAGE, {"BASE": "reg.example/base:r1"})
    assert split_bases(deps, built_in_run) == expected


def test_external_lists_runtime_first():
    bases = BuildBases(runtime="a:1", buildtime=("b:1",), from_run=("c:1",))
    assert bases.external == ("a:1", "b:1")
    assert BuildBases(runtime=None, buildtime=(), from_run=("c:1",)).external == ()


def test_scratch_is_no_base_at_all():
    deps = discover_base_images("FROM scratch\nCOPY x /x\n")
    assert split_bases(deps, {"scratch"}) == BuildBases(runtime=None, buildtime=(), from_run=())


@pytest.mark.parametrize(
    ("force_pull", "from_run", "pulls"),
    [
        (False, (), True),  # the base as the registry has it now
        (False, ("reg.example/base:r1",), False),  # only this run has it
        (True, ("reg.example/base:r1",), True),  # --pull, as docker build
        (True, (), True),
    ],
)
def test_pulls_bases(force_pull, from_run, pulls):
    build = DockerBuild(context=".", pull=force_pull)
    bases = BuildBases(runtime=None, buildtime=(), from_run=from_run)
    assert pulls_bases(build, bases) is pulls
