"""The OpenAPI document matches the app: every HTTP route is documented and every
documented operation is a route, with the same methods and authentication."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from functions import openapi

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "patch")

# get_functions() may be called only once per app object, and the wiring tests
# already call it in this process: read the routes in a fresh interpreter.
_LIST_ROUTES = """
import json
from function_app import app
routes = []
for function in app.get_functions():
    trigger = json.loads(function.get_raw_bindings()[0])
    if trigger["type"] == "httpTrigger":
        routes.append([function.get_function_name(), trigger["route"],
                       sorted(trigger["methods"]), trigger["authLevel"]])
print(json.dumps(routes))
"""


@pytest.fixture(scope="module")
def routes() -> dict[tuple[str, str], tuple[str, str]]:
    """``{(path, method): (function name, auth level)}`` of every HTTP function."""
    out = subprocess.run(
        [sys.executable, "-c", _LIST_ROUTES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    result = {}
    for name, route, methods, auth in json.loads(out):
        for method in methods:
            result[(f"/api/{route}", method.lower())] = (name, auth)
    return result


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(openapi.DOCUMENT.read_text())


def _operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_route_is_documented_and_every_operation_is_a_route(routes, document):
    assert set(_operations(document)) == set(routes)


def test_operation_ids_are_the_function_names(routes, document):
    for key, operation in _operations(document).items():
        assert operation["operationId"] == routes[key][0], key


def test_anonymous_routes_and_only_they_need_no_key(routes, document):
    for key, operation in _operations(document).items():
        anonymous = operation.get("security", document["security"]) == []
        assert anonymous == (routes[key][1] == "ANONYMOUS"), key


def test_webhooks_document_their_signature_headers(document):
    expected = {
        "/api/webhooks/github": "X-Hub-Signature-256",
        "/api/webhooks/gitlab": "X-Gitlab-Token",
        "/api/webhooks/gitea": "X-Gitea-Signature",
        "/api/webhooks/registry": "Authorization",
    }
    for path, header in expected.items():
        parameters = document["paths"][path]["post"]["parameters"]
        (given,) = [p for p in parameters if p["name"] == header]
        assert (given["in"], given["required"]) == ("header", True), path


def test_path_parameters_are_declared(document):
    for path, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", [])}
        for method in METHODS:
            if method in item:
                declared_here = declared | {
                    p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"
                }
                for part in path.split("/"):
                    if part.startswith("{"):
                        assert part.strip("{}") in declared_here, (path, method)


def test_the_document_is_served_anonymously_as_json():
    response = openapi.openapi_document(
        func.HttpRequest(method="GET", url="/api/openapi.json", body=b"")
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_body())["openapi"].startswith("3.")


def test_the_document_is_a_valid_openapi_3_document(document):
    from schemathesis.openapi import from_dict

    schema = from_dict(document)
    assert len(list(schema.get_all_operations())) == len(_operations(document))
