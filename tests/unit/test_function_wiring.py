"""The app's wiring, read from ``get_functions()`` metadata as the host would."""

import json

import pytest

from function_app import app


@pytest.fixture(scope="module")
def bindings():
    # get_functions() may be called only once per app object.
    result = {}
    for function in app.get_functions():
        trigger = json.loads(function.get_raw_bindings()[0])
        result[function.get_function_name()] = trigger
    return result


@pytest.mark.parametrize(
    ("name", "route", "methods", "auth"),
    [
        ("post_build", "builds", ["POST"], "FUNCTION"),
        ("get_run", "runs/{runId}", ["GET"], "FUNCTION"),
        ("list_runs", "runs", ["GET"], "FUNCTION"),
        ("post_run", "runs", ["POST"], "FUNCTION"),
        ("get_run_log", "runs/{runId}/logs", ["GET"], "FUNCTION"),
        ("health", "health", ["GET"], "ANONYMOUS"),
        ("put_task", "tasks/{name}", ["PUT"], "FUNCTION"),
        ("get_task", "tasks/{name}", ["GET"], "FUNCTION"),
        ("delete_task", "tasks/{name}", ["DELETE"], "FUNCTION"),
        ("list_tasks", "tasks", ["GET"], "FUNCTION"),
        ("run_task", "tasks/{name}/runs", ["POST"], "FUNCTION"),
        ("github_webhook", "webhooks/github", ["POST"], "ANONYMOUS"),
        ("gitlab_webhook", "webhooks/gitlab", ["POST"], "ANONYMOUS"),
        ("gitea_webhook", "webhooks/gitea", ["POST"], "ANONYMOUS"),
        ("cancel_run", "runs/{runId}/cancel", ["POST"], "FUNCTION"),
        ("update_run", "runs/{runId}", ["PATCH"], "FUNCTION"),
        ("openapi_document", "openapi.json", ["GET"], "ANONYMOUS"),
    ],
)
def test_http_routes(bindings, name, route, methods, auth):
    trigger = bindings[name]
    assert trigger["type"] == "httpTrigger"
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, auth)


def test_run_events_queue_trigger(bindings):
    trigger = bindings["on_run_event"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == "run-events"
    assert trigger["connection"] == "AzureWebJobsStorage"


def test_run_events_poison_queue_trigger(bindings):
    trigger = bindings["on_poisoned_run_event"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == "run-events-poison"
    assert trigger["connection"] == "AzureWebJobsStorage"


def test_notifications_queue_trigger(bindings):
    trigger = bindings["send_notification"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == "notifications"
    assert trigger["connection"] == "AzureWebJobsStorage"


def test_retention_timer_reads_its_schedule_setting(bindings):
    trigger = bindings["purge_expired"]
    assert trigger["type"] == "timerTrigger"
    assert trigger["schedule"] == "%DRYDOCK_RETENTION_SCHEDULE%"


def test_task_timers_run_every_ten_seconds_not_on_startup(bindings):
    trigger = bindings["task_timers"]
    assert trigger["type"] == "timerTrigger"
    assert trigger["schedule"] == "*/10 * * * * *"
    assert trigger.get("runOnStartup") in (None, False)
