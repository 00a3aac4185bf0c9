"""Git host webhooks: POST /api/webhooks/github|gitlab|gitea (no key; signed).

The function only verifies, records and enqueues; builds never run here, so the
answer comes well inside GitHub's 10-second limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import azure.functions as func

from functions.http import handle, json_response
from shared.task_triggers import TriggerServices, handle_git_webhook
from shared.webhooks import gitea, github, gitlab
from shared.webhooks.events import Provider
from shared.wiring import Adapters

bp = func.Blueprint()


@bp.route(route="webhooks/github", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def github_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return handle(
        req, lambda adapters: _deliver(github.PROVIDER, req, adapters), key_required=False
    )


@bp.route(route="webhooks/gitlab", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def gitlab_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return handle(
        req, lambda adapters: _deliver(gitlab.PROVIDER, req, adapters), key_required=False
    )


@bp.route(route="webhooks/gitea", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def gitea_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return handle(req, lambda adapters: _deliver(gitea.PROVIDER, req, adapters), key_required=False)


def _deliver(provider: Provider, req: func.HttpRequest, adapters: Adapters) -> func.HttpResponse:
    services = TriggerServices(
        tasks=adapters.tasks,
        deliveries=adapters.deliveries,
        submission=adapters.submission(),
        webhook_secret=adapters.settings.webhook_secret,
        sleep=time.sleep,
    )
    headers = {name.lower(): value for name, value in req.headers.items()}
    status, answer = handle_git_webhook(
        provider, headers, req.get_body(), services, datetime.now(UTC)
    )
    return json_response(answer, status=status)
