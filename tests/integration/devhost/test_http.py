"""HTTP triggers through a real socket: routing, parameters, methods, keys, limits."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import azure.functions as func
import pytest
import requests

from devhost.discovery import discover
from devhost.host import Host
from tests.integration.devhost.conftest import TEST_KEY

pytestmark = pytest.mark.integration

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="runs/{runId}", methods=["GET"])
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    payload = {"runId": req.route_params["runId"], "params": dict(req.params), "url": req.url}
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.route(route="items/{id:int}/{name?}", methods=["GET", "POST"], auth_level="ANONYMOUS")
async def item(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    payload = {
        "route_params": dict(req.route_params),
        "method": req.method,
        "function": context.function_name,
        "x_test": req.headers.get("X-Test"),
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.route(route="echo", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body()
    return func.HttpResponse(
        body,
        status_code=201,
        headers={"X-Length": str(len(body))},
        mimetype="application/octet-stream",
        charset="latin-1",
    )


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internals must not leak")


@app.route(route="slow", auth_level=func.AuthLevel.ANONYMOUS)
def slow(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(1)
    return func.HttpResponse("done")


FUNCTIONS = discover(app)  # once per app object: a second get_functions() fails


@pytest.fixture
def host(start_host) -> Host:
    return start_host(FUNCTIONS)


def test_route_parameters_query_and_url(host):
    response = requests.get(
        f"{host.base_url}/api/runs/r-1%20x?tag=a&empty=",
        headers={"x-functions-key": TEST_KEY},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    payload = response.json()
    assert payload["runId"] == "r-1 x"
    assert payload["params"] == {"tag": "a", "empty": ""}
    assert urlsplit(payload["url"]).path == "/api/runs/r-1%20x"


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        ({"x-functions-key": "wrong"}, "", 401),
        ({}, "?code=wrong", 401),
        ({"x-functions-key": TEST_KEY}, "", 200),
        ({}, f"?code={TEST_KEY}", 200),
    ],
)
def test_function_level_needs_the_key(host, headers, query, status):
    response = requests.get(f"{host.base_url}/api/runs/r1{query}", headers=headers, timeout=5)
    assert response.status_code == status


def test_typed_and_optional_parameters_async_function_and_context(host):
    base = f"{host.base_url}/api/items"
    full = requests.post(f"{base}/42/widget", headers={"X-Test": "yes"}, timeout=5).json()
    assert full == {
        "route_params": {"id": "42", "name": "widget"},
        "method": "POST",
        "function": "item",
        "x_test": "yes",
    }
    assert requests.get(f"{base}/42", timeout=5).json()["route_params"] == {"id": "42"}
    assert requests.get(f"{base}/not-a-number", timeout=5).status_code == 404


def test_unknown_routes_404_and_wrong_methods_405(host):
    assert requests.get(f"{host.base_url}/api/nothing", timeout=5).status_code == 404
    assert requests.get(f"{host.base_url}/runs/r1", timeout=5).status_code == 404
    response = requests.delete(f"{host.base_url}/api/runs/r1", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_body_status_headers_and_charset_round_trip(host):
    body = bytes(range(256)) * 10
    response = requests.post(f"{host.base_url}/api/echo", data=body, timeout=5)
    assert response.status_code == 201
    assert response.content == body
    assert response.headers["X-Length"] == str(len(body))
    assert response.headers["Content-Type"] == "application/octet-stream; charset=latin-1"


def test_chunked_request_bodies_are_read(host):
    chunks = (part for part in [b"hello", b", ", b"world"])
    response = requests.post(f"{host.base_url}/api/echo", data=chunks, timeout=5)
    assert response.status_code == 201
    assert response.content == b"hello, world"


def test_a_raising_function_gives_a_short_500(host):
    response = requests.get(f"{host.base_url}/api/boom", timeout=5)
    assert response.status_code == 500
    assert "secret" not in response.text
    assert len(response.content) < 100


def _raw_exchange(host: Host, request: bytes) -> bytes:
    address = urlsplit(host.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):  # the server closes: nothing of the body was read
            received += chunk
    return received


@pytest.mark.parametrize("expect", [b"", b"Expect: 100-continue\r\n"])
def test_bodies_over_100_mb_get_413_without_being_sent(host, expect):
    request = (
        b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 104857601\r\n" + expect + b"\r\n"
    )
    started = time.monotonic()
    received = _raw_exchange(host, request)
    assert received.startswith(b"HTTP/1.1 413")
    assert b"100 Continue" not in received
    assert time.monotonic() - started < 2


def test_keep_alive_sustains_webhook_rate(host):
    """~100 small posts a second on two cores, with room to spare."""
    url = f"{host.base_url}/api/echo"
    count, clients = 300, 6

    def post_many(n: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.post(url, data=b'{"ref": "main"}', timeout=5).status_code for _ in range(n)
            ]

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        statuses = [s for batch in pool.map(post_many, [count // clients] * clients) for s in batch]
    elapsed = time.monotonic() - started
    assert statuses == [201] * count
    assert count / elapsed > 100, f"only {count / elapsed:.0f} requests/s"


def test_stop_lets_a_running_request_finish(host):
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(requests.get, f"{host.base_url}/api/slow", timeout=5)
        time.sleep(0.3)
        host.stop(grace_seconds=5)
        response = pending.result()
    assert (response.status_code, response.text) == (200, "done")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{host.base_url}/api/slow", timeout=2)
