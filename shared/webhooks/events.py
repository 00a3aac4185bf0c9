"""The provider-neutral view of a Git webhook delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.errors import InvalidRequest

Headers = Mapping[str, str]
"""Request headers with lower-case names."""


class EventKind(StrEnum):
    PUSH = "push"
    PULL_REQUEST = "pull_request"


@dataclass(frozen=True)
class GitEvent:
    """A push to a branch, or a pull/merge request that got new code."""

    kind: EventKind
    repo_urls: tuple[str, ...]
    branch: str
    """The pushed branch; for a pull request its head (source) branch."""
    commit: str
    """The commit to build: the push's ``after`` or the pull request's head."""
    default_branch: str | None = None
    target_branch: str | None = None
    """A pull request's base branch, which decides whether a task follows it."""
    pr_number: int | None = None


@dataclass(frozen=True)
class Ignored:
    """A delivery that starts nothing (ping, tag push, branch deletion, closed PR…)."""

    reason: str


@dataclass(frozen=True)
class Provider:
    name: str
    signature_valid: Callable[[Headers, bytes, str], bool]
    """Whether the delivery was signed with this secret."""
    has_signature: Callable[[Headers], bool]
    delivery_id: Callable[[Headers], str | None]
    parse: Callable[[Headers, dict[str, Any]], GitEvent | Ignored]


_URL_FIELDS = ("clone_url", "ssh_url", "git_url", "html_url", "git_http_url", "git_ssh_url",
               "web_url", "http_url", "homepage")  # fmt: skip


def repository_urls(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Every URL form the payload gives for its repository (GitHub/Gitea
    ``repository``, GitLab ``project``), for matching tasks in any form."""
    urls: list[str] = []
    for section in ("repository", "project"):
        part = payload.get(section)
        if isinstance(part, dict):
            urls.extend(str(part[k]) for k in _URL_FIELDS if isinstance(part.get(k), str))
    return tuple(dict.fromkeys(url for url in urls if url))


def is_null_sha(sha: str) -> bool:
    """Git's all-zero id: the ``after`` of a deleted branch (SHA-1 or SHA-256)."""
    return bool(sha) and set(sha) == {"0"}


def text(payload: Mapping[str, Any], *path: str, required: bool = True) -> str | None:
    """A string at ``path``; InvalidRequest (400) when a required one is missing."""
    value: Any = payload
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, str) and value:
        return value
    if required:
        raise InvalidRequest(f"the payload has no {'.'.join(path)}; is it a real delivery?")
    return None


def branch_of(ref: str) -> str | None:
    """``refs/heads/x`` -> ``x``; None for tags and anything else."""
    prefix = "refs/heads/"
    return ref[len(prefix) :] if ref.startswith(prefix) else None
