"""Task-file ``volumes`` (secrets as files) and step ``volumeMounts``."""

from __future__ import annotations

import base64

import pytest

from shared.errors import InvalidRequest
from shared.taskfile.model import SecretVolume
from tests.unit.taskfile.test_taskfile import load

TOKEN = base64.b64encode(b"s3cret\n").decode()


def test_secret_volumes_decode_and_steps_mount_them():
    task = load(f"""\
        volumes:
          - name: creds
            secret:
              token: {TOKEN}
              empty.txt: ""
        steps:
          - cmd: x
            volumeMounts:
              - name: creds
                mountPath: /run/creds/
        """)
    assert task.volumes == (SecretVolume("creds", (("token", b"s3cret\n"), ("empty.txt", b""))),)
    assert task.volume_names == ("creds",)
    assert task.steps[0].volume_mounts == (("creds", "/run/creds"),)


def test_a_secret_volume_never_shows_its_content():
    assert "s3cret" not in repr(SecretVolume("creds", (("token", b"s3cret"),)))


def _task(volume: str, mount: str = "name: v\n        mountPath: /v", step: str = "cmd: x") -> str:
    return f"volumes:\n  - {volume}\nsteps:\n  - {step}\n    volumeMounts:\n      - {mount}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_task("name: v"), "line 2: volume 'v' needs a secret"),
        (_task("name: v\n    secret: {a: '!!'}"), "secret key 'a': the value must be base64"),
        (_task("name: v\n    secret: {../a: eA==}"), "secret key '../a' must be a file"),
        (_task("name: v\n    secret: {..: eA==}"), "secret key '..' must be a file name"),
        (_task("name: v\n    secret: {a: eA==}\n    colour: red"), "unknown volume property"),
        (
            _task("name: v\n    secret: {a: eA==}\n  - name: v\n    secret: {b: eA==}"),
            "line 4: volume 'v' is declared twice",
        ),
        (_task("name: v\n    secret: {a: eA==}", "name: w\n        mountPath: /w"),
         "line 5: step acb_step_0: volume 'w' is not in volumes"),
        (_task("name: v\n    secret: {a: eA==}", "name: v\n        mountPath: relative"),
         "mountPath 'relative' must be an absolute path"),
        (_task("name: v\n    secret: {a: eA==}", "name: v\n        mountPath: /"),
         "mountPath '/' must be an absolute path other than /"),
        (_task("name: v\n    secret: {a: eA==}", "name: v\n        mountPath: /workspace/x"),
         "is inside the workspace"),
        (
            _task(
                "name: v\n    secret: {a: eA==}",
                "name: v\n        mountPath: /v\n      - name: v\n        mountPath: /v/",
            ),
            "two volumeMounts share one mountPath",
        ),
        (_task("name: v\n    secret: {a: eA==}", step="build: ."),
         "volumeMounts apply to cmd steps only"),
    ],
)  # fmt: skip
def test_volume_faults_are_refused_with_their_line(text, message):
    with pytest.raises(InvalidRequest) as caught:
        load(text)
    assert message in str(caught.value)
