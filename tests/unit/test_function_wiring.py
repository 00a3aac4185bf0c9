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
        ("get_run_log", "runs/{runId}/logs", ["GET"], "FUNCTION"),
        ("health", "health", ["GET"], "ANONYMOUS"),
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
