"""GitHub webhooks: ``X-Hub-Signature-256``, ``X-GitHub-Event``, ``X-GitHub-Delivery``.

Gitea and Forgejo send the same payload shapes, so ``parse_github_shaped`` serves them too.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from shared.webhooks.events import (
    EventKind,
    GitEvent,
    Headers,
    Ignored,
    Provider,
    branch_of,
    is_null_sha,
    repository_urls,
    text,
)
from shared.webhooks.signatures import verify_hmac_sha256

PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
"""The actions that bring new code to build; ``closed``, ``labeled``… do not."""


def _signature_valid(headers: Headers, body: bytes, secret: str) -> bool:
    return verify_hmac_sha256(body, secret, headers.get("x-hub-signature-256", ""), "sha256=")


def _parse(headers: Headers, payload: dict[str, Any]) -> GitEvent | Ignored:
    return parse_github_shaped(headers.get("x-github-event", ""), payload, PR_ACTIONS)


def parse_github_shaped(
    event: str, payload: dict[str, Any], pr_actions: Collection[str]
) -> GitEvent | Ignored:
    if event == "push":
        return _push(payload)
    if event == "pull_request":
        return _pull_request(payload, pr_actions)
    return Ignored(f"the {event or 'unnamed'} event starts nothing")


def _push(payload: dict[str, Any]) -> GitEvent | Ignored:
    ref = text(payload, "ref") or ""
    after = text(payload, "after") or ""
    branch = branch_of(ref)
    if branch is None:
        return Ignored(f"a push to {ref} (not a branch) starts nothing")
    if payload.get("deleted") is True or is_null_sha(after):
        return Ignored(f"the branch {branch} was deleted")
    return GitEvent(
        kind=EventKind.PUSH,
        repo_urls=repository_urls(payload),
        branch=branch,
        commit=after,
        default_branch=text(payload, "repository", "default_branch", required=False),
    )


def _pull_request(payload: dict[str, Any], pr_actions: Collection[str]) -> GitEvent | Ignored:
    action = text(payload, "action") or ""
    if action not in pr_actions:
        return Ignored(f"pull request action {action!r} starts nothing")
    pull_request = payload.get("pull_request")
    number = payload.get("number")
    if not number and isinstance(pull_request, dict):  # a hostile payload may send any type
        number = pull_request.get("number")
    return GitEvent(
        kind=EventKind.PULL_REQUEST,
        repo_urls=repository_urls(payload),
        branch=text(payload, "pull_request", "head", "ref") or "",
        commit=text(payload, "pull_request", "head", "sha") or "",
        default_branch=text(payload, "repository", "default_branch", required=False),
        target_branch=text(payload, "pull_request", "base", "ref") or "",
        pr_number=number if isinstance(number, int) else None,
    )


PROVIDER = Provider(
    name="github",
    signature_valid=_signature_valid,
    has_signature=lambda headers: bool(headers.get("x-hub-signature-256")),
    delivery_id=lambda headers: headers.get("x-github-delivery") or None,
    parse=_parse,
)
