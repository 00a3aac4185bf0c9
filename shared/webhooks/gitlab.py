"""GitLab webhooks: ``X-Gitlab-Token`` (the secret itself), ``X-Gitlab-Event``
(``Push Hook``, ``Merge Request Hook``…), and a delivery id in
``X-Gitlab-Event-UUID`` (``Idempotency-Key`` on newer GitLab)."""

from __future__ import annotations

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
from shared.webhooks.signatures import verify_token

MR_ACTIONS = frozenset({"open", "update", "reopen"})


def _parse(headers: Headers, payload: dict[str, Any]) -> GitEvent | Ignored:
    event = headers.get("x-gitlab-event", "")
    if event == "Push Hook":
        return _push(payload)
    if event == "Merge Request Hook":
        return _merge_request(payload)
    return Ignored(f"the {event or 'unnamed'} event starts nothing")


def _push(payload: dict[str, Any]) -> GitEvent | Ignored:
    ref = text(payload, "ref") or ""
    after = text(payload, "checkout_sha", required=False) or text(payload, "after") or ""
    branch = branch_of(ref)
    if branch is None:
        return Ignored(f"a push to {ref} (not a branch) starts nothing")
    if is_null_sha(text(payload, "after") or ""):
        return Ignored(f"the branch {branch} was deleted")
    return GitEvent(
        kind=EventKind.PUSH,
        repo_urls=repository_urls(payload),
        branch=branch,
        commit=after,
        default_branch=text(payload, "project", "default_branch", required=False),
    )


def _merge_request(payload: dict[str, Any]) -> GitEvent | Ignored:
    action = text(payload, "object_attributes", "action", required=False) or ""
    if action not in MR_ACTIONS:
        return Ignored(f"merge request action {action!r} starts nothing")
    attributes = payload["object_attributes"]
    # An "update" without "oldrev" changed the title, labels…, not the code.
    if action == "update" and "oldrev" not in attributes and "changes" in payload:
        return Ignored("the merge request update brought no new commits")
    iid = attributes.get("iid")
    return GitEvent(
        kind=EventKind.PULL_REQUEST,
        repo_urls=repository_urls(payload),
        branch=text(payload, "object_attributes", "source_branch") or "",
        commit=text(payload, "object_attributes", "last_commit", "id") or "",
        default_branch=text(payload, "project", "default_branch", required=False),
        target_branch=text(payload, "object_attributes", "target_branch") or "",
        pr_number=iid if isinstance(iid, int) else None,
    )


PROVIDER = Provider(
    name="gitlab",
    signature_valid=lambda headers, _body, secret: verify_token(
        secret, headers.get("x-gitlab-token", "")
    ),
    has_signature=lambda headers: bool(headers.get("x-gitlab-token")),
    delivery_id=lambda headers: (
        headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key") or None
    ),
    parse=_parse,
)
