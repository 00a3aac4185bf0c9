"""Image references parsed and normalised by Docker's rules.

The grammar is Docker's (distribution/reference): ``[host[:port]/]path[:tag][@digest]``
with lowercase path components. Parsing is strict because a reference that Docker
would reject must be refused at submission (a 400), not hours later in a build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import InvalidRequest

DOCKER_HUB = "docker.io"
# Docker rewrites the legacy index host to docker.io, so both spellings name one image.
LEGACY_DOCKER_HUB = "index.docker.io"
NAME_TOTAL_LENGTH_MAX = 255

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)  # ASCII \w, as in Docker
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_ANY_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference; ``str()`` gives its fully qualified form."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.name}{tag}{digest}"


def parse_image_ref(text: str, default_registry: str | None = None) -> ImageRef:
    """Parse ``text`` into an ImageRef.

    Without ``default_registry`` a reference without a registry host goes to Docker Hub
    (``alpine`` -> ``docker.io/library/alpine``). With one (images a build pushes), it
    goes to that registry unchanged (``app`` -> ``localhost:5000/app``).
    """
    if not isinstance(text, str) or not text:
        raise InvalidRequest("an image reference is empty; give one such as 'myapp:v1'")
    remainder, digest = _split_digest(text)
    name, tag = _split_tag(text, remainder)
    registry, repository = _split_registry(text, name, default_registry)
    _check_repository(text, repository)
    if len(registry) + 1 + len(repository) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(text, f"the name is longer than {NAME_TOTAL_LENGTH_MAX} characters")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


def normalise_image_ref(text: str) -> str:
    """Docker's fully qualified form: ``alpine`` -> ``docker.io/library/alpine:latest``."""
    return str(parse_image_ref(text))


def _invalid(text: str, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"invalid image reference {text!r}: {problem}; "
        "write it as [registry/]repository[:tag][@sha256:digest], e.g. 'team/app:v1'"
    )


def _split_digest(text: str) -> tuple[str, str | None]:
    remainder, at, digest = text.partition("@")
    if not at:
        return text, None
    if _DIGEST.fullmatch(digest):
        return remainder, digest
    if _ANY_DIGEST.fullmatch(digest):
        raise _invalid(text, "only sha256 digests ('sha256:' and 64 lowercase hex) are supported")
    raise _invalid(text, "the digest must be 'sha256:' followed by 64 lowercase hex digits")


def _split_tag(text: str, remainder: str) -> tuple[str, str | None]:
    # A colon after the last slash starts the tag; one before it belongs to host:port.
    colon = remainder.rfind(":")
    if colon <= remainder.rfind("/"):
        return remainder, None
    tag = remainder[colon + 1 :]
    if not _TAG.fullmatch(tag):
        raise _invalid(
            text,
            f"the tag {tag!r} must be 1 to 128 letters, digits, '_', '.' or '-' "
            "and not start with '.' or '-'",
        )
    return remainder[:colon], tag


def _split_registry(text: str, name: str, default_registry: str | None) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.fullmatch(first):
            raise _invalid(text, f"the registry host {first!r} is not a valid host[:port]")
        registry, repository = first, rest
    else:
        registry, repository = default_registry or DOCKER_HUB, name
    if registry == LEGACY_DOCKER_HUB:
        registry = DOCKER_HUB
    # Official images live under library/ on Docker Hub only; other registries keep the name.
    if registry == DOCKER_HUB and repository and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository


def _check_repository(text: str, repository: str) -> None:
    if not repository:
        raise _invalid(text, "the repository name is missing")
    for component in repository.split("/"):
        if _PATH_COMPONENT.fullmatch(component):
            continue
        raise _invalid(text, _describe_bad_component(component))


def _describe_bad_component(component: str) -> str:
    if not component:
        return "the repository has an empty path component ('//' or a trailing '/')"
    if component != component.lower() and _PATH_COMPONENT.fullmatch(component.lower()):
        return f"repository names must be lowercase ({component!r})"
    if any(ch.isspace() for ch in component):
        return "it contains whitespace"
    return (
        f"the path component {component!r} must be lowercase letters and digits, "
        "separated by '.', '_', '__' or '-' (not at the start or end, no '..')"
    )
