"""Packing a local context: .dockerignore as Docker reads it, on real folders."""

from __future__ import annotations

import tarfile
import textwrap
from pathlib import Path

import pytest

from cli.context_tar import (
    ContextError,
    check_context,
    context_files,
    pack_context,
    read_dockerignore,
)

TREE = [
    "Dockerfile",
    "app.py",
    "README.md",
    "notes.md",
    "src/main.py",
    "src/cache.pyc",
    "src/pkg/deep.pyc",
    "build/out.bin",
    "build/keep.txt",
    "docs/guide.md",
    "docker/Dockerfile.prod",
]


def make_tree(root: Path, dockerignore: str | None, files: list[str] = TREE) -> Path:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {name}\n")
    if dockerignore is not None:
        (root / ".dockerignore").write_text(textwrap.dedent(dockerignore))
    return root


def archived_files(root: Path, dockerfile: str = "Dockerfile") -> set[str]:
    with pack_context(root, dockerfile) as archive, tarfile.open(fileobj=archive) as tf:
        return {m.name for m in tf.getmembers() if m.isfile()}


def test_without_dockerignore_everything_is_sent(tmp_path: Path) -> None:
    make_tree(tmp_path, None)
    assert archived_files(tmp_path) == set(TREE)


@pytest.mark.parametrize(
    ("dockerignore", "absent", "present"),
    [
        pytest.param(
            "notes.md\nbuild\n",
            {"notes.md", "build/out.bin", "build/keep.txt"},
            {"README.md", "app.py"},
            id="plain names and folders",
        ),
        pytest.param(
            "**/*.pyc\n",
            {"src/cache.pyc", "src/pkg/deep.pyc"},
            {"src/main.py"},
            id="double star",
        ),
        pytest.param(
            "*.md\n!README.md\n",
            {"notes.md"},
            {"README.md", "docs/guide.md"},  # *.md matches the top level only
            id="exception",
        ),
        pytest.param(
            "build\n!build/keep.txt\n",
            {"build/out.bin"},
            {"build/keep.txt"},
            id="exception inside an ignored folder",
        ),
        pytest.param(
            "# a comment, not a pattern\n\n   \napp.py\n#README.md\n",
            {"app.py"},
            {"README.md"},
            id="comments and blank lines",
        ),
    ],
)
def test_dockerignore_patterns(
    tmp_path: Path, dockerignore: str, absent: set[str], present: set[str]
) -> None:
    make_tree(tmp_path, dockerignore)
    files = archived_files(tmp_path)
    assert absent.isdisjoint(files)
    assert present <= files


def test_dockerfile_and_dockerignore_are_sent_even_if_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, "*\n")
    assert archived_files(tmp_path) == {"Dockerfile", ".dockerignore"}


def test_a_dockerfile_in_a_subfolder_is_sent_even_if_ignored(tmp_path: Path) -> None:
    make_tree(tmp_path, "docker\n")
    files = archived_files(tmp_path, "docker/Dockerfile.prod")
    assert "docker/Dockerfile.prod" in files


def test_the_archive_is_gzipped_and_lists_folders(tmp_path: Path) -> None:
    make_tree(tmp_path, "build\n")
    archive = pack_context(tmp_path)
    assert archive.read(2) == b"\x1f\x8b"
    assert "src" in context_files(tmp_path)
    assert "build" not in context_files(tmp_path)


def test_read_dockerignore_drops_comments_and_blanks(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# c\n\n  *.log  \n!keep.log\n")
    assert read_dockerignore(tmp_path) == ["*.log", "!keep.log"]


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [("Dockerfile", "Dockerfile"), ("./docker/Dockerfile.prod", "docker/Dockerfile.prod")],
)
def test_check_context_normalises_the_dockerfile_path(
    tmp_path: Path, dockerfile: str, expected: str
) -> None:
    make_tree(tmp_path, None)
    assert check_context(tmp_path, dockerfile) == expected


@pytest.mark.parametrize(
    ("folder", "dockerfile", "message"),
    [
        ("missing", "Dockerfile", "does not exist"),
        (".", "Nope.dockerfile", "no Dockerfile at"),
        (".", "../Dockerfile", "outside the source folder"),
    ],
)
def test_check_context_says_what_is_wrong(
    tmp_path: Path, folder: str, dockerfile: str, message: str
) -> None:
    root = tmp_path / "ctx"
    make_tree(root, None)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ContextError, match=message):
        check_context(root / folder, dockerfile)
