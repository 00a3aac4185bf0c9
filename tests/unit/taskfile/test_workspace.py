"""Where a build step's context is in the run's shared workspace."""

from __future__ import annotations

import pytest

from shared.taskfile.workspace import workspace_path


@pytest.mark.parametrize(
    ("context", "path"),
    [
        (".", "/workspace"),
        ("./", "/workspace"),
        ("gen", "/workspace/gen"),
        ("gen/../app/./src", "/workspace/app/src"),
        ("/workspace", "/workspace"),
        ("/workspace/gen/", "/workspace/gen"),
        ("..", None),
        ("gen/../../etc", None),
        ("/etc", None),
        ("/workspacex", None),
        ("//workspace", None),
        ("", None),
        ("a\x00b", None),
    ],
)
def test_a_build_context_is_a_path_in_the_workspace(context, path):
    assert workspace_path(context) == path
