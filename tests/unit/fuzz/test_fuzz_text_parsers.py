"""Text parsers fuzzed beyond their own modules' tests: cron schedules, image
references against a default registry, Dockerfiles built from instructions with
build args and targets, structured task files with every step property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.dockerfile_deps import discover_base_images
from shared.image_ref import normalise_image_ref, parse_image_ref
from shared.schedules import check_schedule, latest_occurrence
from shared.taskfile import RenderInput, load_task_file
from shared.templating import run_variables
from tests.unit.fuzz.strategies import hostile_text, json_values, parsed_or_refused

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

_cron_field = st.one_of(
    st.sampled_from(["*", "*/5", "0", "59", "60", "1-5", "5-1", "L", "?", "MON", "JAN", "1,2",
                     "*/0", "-1", "99999999999999999999", "H", "#", "1#2", "0/0"]),
    hostile_text.filter(lambda text: " " not in text),
)  # fmt: skip


@FUZZ
@given(st.one_of(st.lists(_cron_field, max_size=8).map(" ".join), hostile_text))
def test_schedules_are_accepted_or_refused_with_a_reason(schedule):
    if parsed_or_refused(check_schedule, schedule) is None:
        try:
            check_schedule(schedule)
        except Exception:
            return
    # Accepted: the latest occurrence is computable and never in the future.
    occurrence = latest_occurrence(schedule, NOW - timedelta(days=400), NOW)
    assert occurrence is None or occurrence <= NOW


_component = st.sampled_from(["library", "app", "a.b", "a__b", "A", "-x", "x-", "", "..", "😀"])
_registry = st.sampled_from(
    ["localhost:5000", "myreg.azurecr.io", "[::1]:5000", "127.0.0.1:0", "host:99999", "UP", ""]
)


@FUZZ
@given(
    st.lists(st.one_of(_component, _registry, hostile_text), min_size=1, max_size=4).map("/".join),
    st.one_of(st.none(), st.sampled_from([":v1", ":", ":" + "x" * 200, "@sha256:" + "a" * 64,
                                          "@sha256:zz", ":v1@sha256:" + "0" * 64])),
    st.one_of(st.none(), _registry),
)  # fmt: skip
def test_image_references_against_a_default_registry(name, suffix, default_registry):
    text = name + (suffix or "")
    ref = parsed_or_refused(parse_image_ref, text, default_registry)
    if ref is not None:
        assert ref.repository and ref.registry is not None
        parsed_or_refused(normalise_image_ref, text)


_image = st.sampled_from(
    ["busybox", "localhost:5000/base:1", "$BASE", "${BASE:-busybox}", "${BASE:+x}", "${BASE?no}",
     "${", "builder", "scratch", "UPPER", "a@sha256:" + "b" * 64, "--platform=$X", ""]
)  # fmt: skip
_instruction = st.one_of(
    st.tuples(st.just("FROM"), _image, st.sampled_from(["", " AS builder", " AS final", " as 1"])),
    st.tuples(st.just("ARG"), st.sampled_from(["BASE", "BASE=busybox", "BASE=${X}", "=", "X="]),
              st.just("")),
    st.tuples(st.sampled_from(["COPY", "RUN"]),
              st.sampled_from(["--from=builder /a /b", "--from=$BASE / /", "--from= x y",
                               "--mount=type=bind,from=localhost:5000/x:1 true",
                               "--mount=from=builder,target=/x true", "<<EOF\nx\nEOF", "x \\"]),
              st.just("")),
    st.tuples(hostile_text, hostile_text, st.just("")),
)  # fmt: skip


@FUZZ
@given(
    st.lists(_instruction, max_size=8),
    st.dictionaries(st.sampled_from(["BASE", "X", "Y"]), st.sampled_from(["busybox", "", "$X"])),
    st.one_of(st.none(), st.sampled_from(["builder", "final", "nope", "0"])),
)
def test_dockerfiles_with_build_args_and_targets(instructions, build_args, target):
    dockerfile = "\n".join(f"{a} {b}{c}" for a, b, c in instructions)
    deps = parsed_or_refused(discover_base_images, dockerfile, build_args, target)
    if deps is not None:
        assert all(isinstance(image, str) and image for image in deps.buildtime)


GIVEN = RenderInput(
    run_variables(run_id="dd1", registry="localhost:5000", now=NOW, commit="0" * 40,
                  branch="main", task_name="t", values={"x": "1"}),
    secrets={"token": "s3cr3t"},
)  # fmt: skip
_step_properties = {
    "build": st.sampled_from(["-t a .", "-f ../D .", "--build-arg A=$B .", "", "-t {{.Run.ID}} ."]),
    "cmd": st.sampled_from(["busybox echo hi", "", "{{.Values.x}} echo", "--privileged x"]),
    "push": st.lists(st.sampled_from(["a:1", "", "UP:x"]), max_size=2),
    "when": st.lists(st.sampled_from(["-", "a", "b"]), max_size=2),
    "env": st.lists(st.sampled_from(["A=1", "A", "=x", "{{.Secrets.token}}"]), max_size=2),
    "privileged": st.booleans(),
    "detach": st.booleans(),
    "timeout": st.integers(-1, 100000),
    "retries": st.integers(-1, 100),
    "volumeMounts": st.lists(st.fixed_dictionaries({"name": _image, "mountPath": _image})),
    "network": _image,
    "ports": st.lists(st.sampled_from(["80", "8080:80", "x:y", "70000"]), max_size=2),
    "secret": st.sampled_from(["token", "", "{{"]),
}


@SLOW_FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["a", "b", "a b", ""])},
            optional={name: st.one_of(s, json_values) for name, s in _step_properties.items()},
        ),
        max_size=4,
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from(["v1.1.0", "v9", ""]),
            "stepTimeout": st.integers(-1, 100000),
            "alias": json_values,
            "secrets": st.lists(json_values, max_size=2),
            "volumes": st.lists(json_values, max_size=2),
            "networks": st.lists(json_values, max_size=2),
            "env": json_values,
        },
    ),
)
def test_structured_task_files_with_every_property(steps, top):
    parsed_or_refused(load_task_file, yaml.safe_dump({**top, "steps": steps}), GIVEN)
