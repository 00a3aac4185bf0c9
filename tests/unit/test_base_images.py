import pytest

from shared.base_images import (
    BUILDTIME,
    RUNTIME,
    Dependent,
    Rebuild,
    rebuilds_for,
    trigger_admits,
    trigger_mark,
)

IMAGE = "localhost:5000/base:1"
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("trigger_type", "kind", "admitted"),
    [
        ("Runtime", RUNTIME, True),
        ("Runtime", BUILDTIME, False),
        ("All", BUILDTIME, True),
        ("All", RUNTIME, True),
    ],
)
def test_trigger_types(trigger_type, kind, admitted):
    assert trigger_admits(trigger_type, kind) is admitted


def test_only_dependents_built_with_another_digest_rebuild():
    dependents = [
        Dependent("stale", IMAGE, RUNTIME, OLD),
        Dependent("fresh", IMAGE, RUNTIME, NEW),
        Dependent("never-built", IMAGE, RUNTIME, None),
        Dependent("arm", IMAGE, RUNTIME, OLD, platform="linux/arm64"),
    ]
    rebuilds = rebuilds_for(IMAGE, {"linux/amd64": NEW, "linux/arm64": OLD}, dependents)
    assert rebuilds == [Rebuild("stale", IMAGE, OLD, NEW)]
    assert rebuilds[0].update() == {"image": IMAGE, "fromDigest": OLD, "toDigest": NEW}


def test_an_unknown_platform_view_rebuilds_nothing():
    assert rebuilds_for(IMAGE, {}, [Dependent("t", IMAGE, RUNTIME, OLD)]) == []


def test_marks_name_task_base_and_digest():
    one = Rebuild("t", IMAGE, OLD, NEW)
    assert trigger_mark(one) == trigger_mark(Rebuild("t", IMAGE, "sha256:other", NEW))
    assert trigger_mark(one) != trigger_mark(Rebuild("u", IMAGE, OLD, NEW))
    assert trigger_mark(one) != trigger_mark(Rebuild("t", IMAGE, OLD, OLD))
    assert trigger_mark(one) != trigger_mark(Rebuild("t", IMAGE + "-other", OLD, NEW))


def test_one_updates_marks_share_a_group_so_they_are_claimed_together():
    group, task = trigger_mark(Rebuild("t", IMAGE, OLD, NEW))
    assert trigger_mark(Rebuild("u", IMAGE, "sha256:other", NEW)) == (group, "u")
    assert task == "t"
