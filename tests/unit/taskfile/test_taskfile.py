"""Task files: rendering, parsing, validation and the when graph."""

from __future__ import annotations

import contextlib
import textwrap
import time
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from shared.taskfile import RenderInput, load_task_file
from shared.taskfile.docker_args import parse_build_arguments
from shared.templating import run_variables

VARIABLES = run_variables(
    run_id="dd7",
    registry="myreg.azurecr.io",
    now=datetime(2024, 5, 6, 7, 8, 9),
    commit="abc",
    branch="main",
    values={"repo": "hello"},
)
GIVEN = RenderInput(VARIABLES, {"token": "s3cret"}, "drydock-dd7-vol")


def load(text: str):
    return load_task_file(textwrap.dedent(text), GIVEN)


def test_the_build_run_push_sample_renders_and_parses():
    task = load("""\
        version: v1.1.0
        steps:
          - build: -t $Registry/hello-world:$ID -f Dockerfile .
          - cmd: $Registry/hello-world:$ID
          - push:
            - $Registry/hello-world:$ID
        """)
    build, cmd, push = task.steps
    assert build.build.tags == ("myreg.azurecr.io/hello-world:dd7",)
    assert cmd.cmd == ("myreg.azurecr.io/hello-world:dd7",)
    assert push.push == ("myreg.azurecr.io/hello-world:dd7",)
    assert [s.when for s in task.steps] == [(), ("acb_step_0",), ("acb_step_1",)]
    assert (cmd.timeout, cmd.retries, cmd.detach, cmd.keep) == (600, 0, False, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{.Run.ID}}", "dd7"),
        ("{{.Values.repo}}", "hello"),
        ("{{.Secrets.token}}", "s3cret"),
        ("$RegistryName/$Date/$Commit/$Branch", "myreg/20240506-070809z/abc/main"),
        ("$OS-$Architecture $SharedVolume", "linux-amd64 drydock-dd7-vol"),
        ("$repo2 $$ID $HOME", "mine $ID $HOME"),
    ],
)
def test_templates_and_aliases(text, expected):
    task = load(f"""\
        version: v1.1.0
        alias:
          values:
            repo2: mine
        steps:
          - cmd: busybox echo "{text}"
        """)
    assert task.steps[0].cmd == ("busybox", "echo", expected)


def test_aliases_need_v1_1_0_and_a_custom_directive_works():
    assert load("steps:\n  - cmd: a $ID\n").steps[0].cmd == ("a", "$ID")
    task = load("""\
        version: v1.1.0
        alias:
          directive: "&"
        steps:
          - cmd: a &ID $ID
        """)
    assert task.steps[0].cmd == ("a", "dd7", "$ID")


def test_when_graph():
    task = load("""\
        steps:
          - id: a
            cmd: x
          - id: b
            cmd: x
            when: ["-"]
          - id: c
            cmd: x
            when: [a, b]
          - id: d
            cmd: x
        """)
    assert [s.when for s in task.steps] == [(), (), ("a", "b"), ("c",)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: v2\nsteps:\n  - cmd: x\n", "line 1: version"),
        ("steps:\n  - cmd: x\n    colour: red\n", "line 3: unknown step property 'colour'"),
        ("steps:\n  - cmd: x\n    timeout: soon\n", "line 3: timeout must be a whole number"),
        ("steps:\n  - cmd: x\n    detach: yes please\n", "line 3: detach must be true"),
        (
            "steps:\n  - id: a\n    cmd: x\n  - id: a\n    cmd: y\n",
            "line 4: step id 'a' is used twice",
        ),
        ("steps:\n  - cmd: x\n    when: [nope]\n", "line 2: step 'acb_step_0' waits for unknown"),
        ("steps:\n  - id: a\n    cmd: x\n    when: [a]\n", "waits for itself"),
        (
            "steps:\n  - id: a\n    cmd: x\n    when: [b]\n  - id: b\n    cmd: y\n",
            "line 2: the steps wait for each other: a -> b -> a",
        ),
        ("steps:\n  - cmd: x\n    build: .\n", "exactly one of build, push or cmd"),
        ("steps:\n  - push: []\n", "push lists the images"),
        ("steps:\n  - build: -t a b c\n", "exactly one context"),
        ("steps:\n  - build: --squash .\n", "'--squash' is not supported"),
        ("steps: []\n", "no steps"),
        ("colour: red\nsteps:\n  - cmd: x\n", "line 1: unknown task property"),
        ("steps:\n  - cmd: x\n  - cmd: y\ncmd: z\ncmd: w\n", "line 5: duplicate key 'cmd'"),
        ("steps:\n  - cmd: '{{.Values.missing}}'\n", "unknown variable"),
        ("- just\n- a list\n", "a task file is a YAML object"),
        ("steps: [\n", "not valid YAML"),
        ("stepTimeout: 0\nsteps:\n  - cmd: x\n", "line 1: stepTimeout must be between"),
        ("steps:\n  - cmd: x\n    env: [NOEQUALS]\n", "must look like NAME=value"),
    ],
)
def test_faults_are_refused_with_their_line(text, message):
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[")) as caught:
        load(text)
    assert message in str(caught.value)


def test_step_timeout_defaults_to_the_task_step_timeout():
    task = load("stepTimeout: 30\nsteps:\n  - cmd: x\n  - cmd: y\n    timeout: 5\n")
    assert [s.timeout for s in task.steps] == [30, 5]


@pytest.mark.parametrize(
    ("text", "total"),
    [("steps:\n  - cmd: x\n", None), ("totalTimeout: 90\nsteps:\n  - cmd: x\n", 90)],
)
def test_total_timeout_is_optional(text, total):
    assert load(text).total_timeout == total


def test_build_arguments():
    build = parse_build_arguments(
        "-t a:1 --tag=b:2 -f sub/Dockerfile --build-arg X=1 --build-arg Y "
        "--target final --no-cache --platform linux/amd64 --pull ctx",
        1,
    )
    assert build.tags == ("a:1", "b:2") and build.dockerfile == "sub/Dockerfile"
    assert build.build_args == (("X", "1"), ("Y", None))
    assert (build.target, build.no_cache, build.platform, build.pull, build.context) == (
        "final", True, "linux/amd64", True, "ctx",
    )  # fmt: skip


def test_a_yaml_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    started = time.monotonic()
    with pytest.raises(InvalidRequest, match="too many nodes"):
        load_task_file("\n".join(lines) + "\nsteps:\n  - cmd: x\n", GIVEN)
    assert time.monotonic() - started < 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>\"' \n\t$.0123")), max_size=200))
def test_only_invalid_request_escapes(text):
    with contextlib.suppress(InvalidRequest):
        load_task_file(text, GIVEN)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["a", "b", "c", "d"])},
            optional={
                "when": st.lists(st.sampled_from(["a", "b", "c", "-", "z"]), max_size=3),
                "timeout": st.one_of(st.integers(-5, 30000), st.text(max_size=3)),
                "cmd": st.text(max_size=10),
                "push": st.lists(st.text(max_size=5), max_size=2),
            },
        ),
        max_size=5,
    )
)
def test_structured_fuzz_only_invalid_request_escapes(steps):
    import yaml

    with contextlib.suppress(InvalidRequest):
        load_task_file(yaml.safe_dump({"steps": steps}), GIVEN)
