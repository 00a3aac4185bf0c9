"""builder.engine against the real Docker Engine and the local registry."""

from __future__ import annotations

import contextlib
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests

from builder.engine import BuildCanceled, DockerEngine, _canonical_repository
from shared.errors import BuildFailed
from tests.support.images import make_base_image

pytestmark = pytest.mark.integration

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


@pytest.fixture
def engine(docker_client: docker.DockerClient) -> DockerEngine:
    return DockerEngine(docker_client)


@pytest.fixture
def created_images(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """References and ids a test made, in the order made; removed afterwards,
    newest first, so that no image is removed before its children."""
    created: list[str] = []
    yield created
    for image in reversed(created):
        # By id: removing a tag leaves the image behind while a pushed digest
        # still names it.
        with contextlib.suppress(docker.errors.NotFound):
            image_id = docker_client.api.inspect_image(image)["Id"]
            docker_client.api.remove_image(image_id, force=True)


@pytest.fixture
def base(
    docker_client: docker.DockerClient,
    registry_host: str,
    unique_name: str,
    created_images: list[str],
) -> tuple[str, str]:
    """(reference, pushed digest) of a fresh busybox base in the registry."""
    reference = f"{registry_host}/{unique_name}/base:1"
    created_images.append(reference)
    digest = make_base_image(docker_client, reference, {"/etc/base-version": "1\n"})
    return reference, digest


def write_context(directory: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return directory


def registry_digest(registry_host: str, reference: str) -> str:
    repository, _, tag = reference.removeprefix(f"{registry_host}/").rpartition(":")
    response = requests.get(
        f"http://{registry_host}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def test_build_tags_pushes_and_runs(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    registry_host: str,
    unique_name: str,
    base: tuple[str, str],
    created_images: list[str],
    tmp_path: Path,
) -> None:
    base_reference, _ = base
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"""\
                FROM {base_reference}
                ARG GREETING
                RUN printf 'part'; sleep 1; printf 'ial\\n\\nwritten\\n'
                RUN echo "$GREETING" > /greeting
            """,
        },
    )
    tags = [f"{registry_host}/{unique_name}/app:v1", f"{registry_host}/{unique_name}/app:latest"]
    lines: list[str] = []

    image_id = engine.build(
        context_dir=context,
        dockerfile="Dockerfile",
        tags=tags,
        build_args={"GREETING": "hello from drydock"},
        target=None,
        platform=None,
        on_output=lines.append,
    )
    created_images.extend([image_id, *tags])

    assert image_id.startswith("sha256:")
    assert f"Step 1/4 : FROM {base_reference}" in lines
    assert f"1: Pulling from {unique_name}/base" in lines
    assert lines[lines.index("partial") :][:3] == ["partial", "", "written"]
    assert lines[-1] and all(line == line.rstrip() for line in lines)
    assert {tag for tag in docker_client.api.inspect_image(image_id)["RepoTags"]} == set(tags)

    for tag in tags:
        pushed_lines: list[str] = []
        pushed = engine.push(tag, pushed_lines.append)
        assert pushed.reference == tag
        assert pushed.digest == registry_digest(registry_host, tag)
        assert any(line.endswith(": Pushed") for line in pushed_lines) or any(
            line.endswith(": Layer already exists") for line in pushed_lines
        )
        assert len(pushed_lines) == len(set(pushed_lines)), "a line per status change"

    output = docker_client.containers.run(
        image_id, ["cat", "/greeting"], remove=True, network_mode="none"
    )
    assert output == b"hello from drydock\n"


def test_base_image_digest_is_the_pushed_digest(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    base: tuple[str, str],
    created_images: list[str],
    unique_name: str,
) -> None:
    base_reference, pushed_digest = base
    assert engine.base_image_digest(base_reference) == pushed_digest

    local_only = f"{unique_name}-local:1"
    docker_client.api.tag(base_reference, f"{unique_name}-local", "1")
    created_images.append(local_only)
    assert engine.base_image_digest(local_only) is None
    assert engine.base_image_digest("scratch") is None
    assert engine.base_image_digest(f"{unique_name}-absent:1") is None


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("alpine", "docker.io/library/alpine"),
        ("alpine:3.20", "docker.io/library/alpine"),
        ("docker.io/library/alpine", "docker.io/library/alpine"),
        ("index.docker.io/alpine", "docker.io/library/alpine"),
        ("bitnami/redis:7", "docker.io/bitnami/redis"),
        ("localhost:5000/app/base:1", "localhost:5000/app/base"),
        ("localhost/base", "localhost/base"),
        ("mcr.microsoft.com/dotnet/runtime@sha256:" + "a" * 64, "mcr.microsoft.com/dotnet/runtime"),
    ],
)
def test_repositories_are_compared_in_full(reference: str, repository: str) -> None:
    assert _canonical_repository(reference) == repository


def test_failing_run_is_a_build_failure_with_its_output(
    engine: DockerEngine, base: tuple[str, str], tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {"Dockerfile": f"FROM {base[0]}\nRUN echo before-failure && exit 3\n"},
    )
    lines: list[str] = []

    with pytest.raises(BuildFailed) as failure:
        engine.build(
            context_dir=context,
            dockerfile="Dockerfile",
            tags=[],
            build_args={},
            target=None,
            platform=None,
            on_output=lines.append,
        )

    assert str(failure.value) == (
        "failed to build: The command '/bin/sh -c echo before-failure && exit 3'"
        " returned a non-zero code: 3"
    )
    assert "before-failure" in lines


@pytest.mark.parametrize("dockerfile", ["Dockerfile.prod", "../Dockerfile", "/etc/hostname"])
def test_missing_dockerfile_is_refused_before_the_engine(
    engine: DockerEngine, tmp_path: Path, dockerfile: str
) -> None:
    context = write_context(tmp_path / "context", {"Dockerfile": "FROM scratch\n"})
    write_context(tmp_path, {"Dockerfile": "FROM scratch\n"})
    lines: list[str] = []

    with pytest.raises(BuildFailed, match=f"Dockerfile '{dockerfile}' not found in the context"):
        engine.build(
            context_dir=context,
            dockerfile=dockerfile,
            tags=[],
            build_args={},
            target=None,
            platform=None,
            on_output=lines.append,
        )
    assert lines == []


@pytest.mark.parametrize(
    ("dockerfile", "reason"),
    [
        ("FROM {registry}/{name}/absent:1\n", "failed to build: manifest for"),
        ("FROMM scratch\n", "failed to build: dockerfile parse error line 1"),
    ],
)
def test_engine_refusals_are_build_failures(
    engine: DockerEngine,
    tmp_path: Path,
    unique_name: str,
    registry_host: str,
    dockerfile: str,
    reason: str,
) -> None:
    text = dockerfile.format(registry=registry_host, name=unique_name)
    context = write_context(tmp_path, {"Dockerfile": text})

    with pytest.raises(BuildFailed, match=reason):
        engine.build(
            context_dir=context,
            dockerfile="Dockerfile",
            tags=[],
            build_args={},
            target=None,
            platform=None,
            on_output=lambda line: None,
        )


def test_dockerignore_is_honoured_and_target_selects_a_stage(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    base: tuple[str, str],
    created_images: list[str],
    tmp_path: Path,
) -> None:
    context = write_context(
        tmp_path,
        {
            ".dockerignore": "secret.txt\nbuild/\n",
            "secret.txt": "do not send\n",
            "build/artifact": "stale\n",
            "kept.txt": "sent\n",
            "docker/Dockerfile.ci": f"""\
                FROM {base[0]} AS checked
                COPY . /ctx/
                RUN test -e /ctx/kept.txt && test ! -e /ctx/secret.txt && test ! -e /ctx/build
                FROM checked AS never-built
                RUN exit 1
            """,
        },
    )

    image_id = engine.build(
        context_dir=context,
        dockerfile="docker/Dockerfile.ci",
        tags=[],
        build_args={},
        target="checked",
        platform=None,
        on_output=lambda line: None,
    )
    created_images.append(image_id)

    output = docker_client.containers.run(
        image_id, ["cat", "/ctx/kept.txt"], remove=True, network_mode="none"
    )
    assert output == b"sent\n"


def test_push_to_a_registry_that_is_down_fails_quickly(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    base: tuple[str, str],
    created_images: list[str],
    unique_name: str,
) -> None:
    reference = f"localhost:5999/{unique_name}/app:1"
    docker_client.api.tag(base[0], f"localhost:5999/{unique_name}/app", "1")
    created_images.append(reference)

    started = time.monotonic()
    with pytest.raises(BuildFailed) as failure:
        engine.push(reference, lambda line: None)

    assert time.monotonic() - started < 15
    assert str(failure.value).startswith(f"push to {reference} failed: ")
    assert "connection refused" in str(failure.value)


def test_should_stop_cancels_a_silent_build_on_the_engine(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    base: tuple[str, str],
    tmp_path: Path,
) -> None:
    context = write_context(
        tmp_path, {"Dockerfile": f"FROM {base[0]}\nRUN echo started && sleep 30\n"}
    )
    lines: list[str] = []
    asked_at: list[float] = []

    def should_stop() -> bool:
        if "started" in lines and not asked_at:
            asked_at.append(time.monotonic())
        return bool(asked_at)

    with pytest.raises(BuildCanceled, match="^canceled$"):
        engine.build(
            context_dir=context,
            dockerfile="Dockerfile",
            tags=[],
            build_args={},
            target=None,
            platform=None,
            on_output=lines.append,
            should_stop=should_stop,
        )
    assert time.monotonic() - asked_at[0] < 5

    # The engine stops the RUN and removes its container (forcerm).
    deadline = time.monotonic() + 10
    while docker_client.containers.list(all=True, filters={"ancestor": base[0]}):
        assert time.monotonic() < deadline, "the build container outlived the cancel"
        time.sleep(0.2)


def test_build_pulls_the_base_as_the_registry_has_it_now(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    base: tuple[str, str],
    created_images: list[str],
    tmp_path: Path,
) -> None:
    base_reference, first_digest = base
    first_id = docker_client.api.inspect_image(base_reference)["Id"]
    created_images.append(first_id)
    second_digest = make_base_image(docker_client, base_reference, {"/etc/base-version": "2\n"})
    assert second_digest != first_digest
    # The engine still holds the old base under the tag; the registry has the new one.
    repository, _, tag = base_reference.rpartition(":")
    docker_client.api.tag(first_id, repository, tag)
    context = write_context(tmp_path, {"Dockerfile": f"FROM {base_reference}\n"})

    image_id = engine.build(
        context_dir=context,
        dockerfile="Dockerfile",
        tags=[],
        build_args={},
        target=None,
        platform=None,
        on_output=lambda line: None,
    )
    created_images.append(image_id)

    assert engine.base_image_digest(base_reference) == second_digest
    output = docker_client.containers.run(
        image_id, ["cat", "/etc/base-version"], remove=True, network_mode="none"
    )
    assert output == b"2\n"
