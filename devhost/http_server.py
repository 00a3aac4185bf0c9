"""HTTP triggers: a threaded HTTP/1.1 server that routes ``/api/...`` to functions."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devhost.auth import is_authorized
from devhost.discovery import HttpFunction
from devhost.http_body import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    MalformedBody,
    content_length,
    read_body,
)
from devhost.invoke import Invoker
from devhost.routes import RouteMatch, RouteTable

logger = logging.getLogger(__name__)

ROUTE_PREFIX = "api"
IDLE_CONNECTION_SECONDS = 120


class FunctionsHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # Connections queue up behind a burst of webhooks instead of being refused.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        functions: Iterable[HttpFunction],
        invoker: Invoker,
        api_key: str,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.routes: RouteTable[HttpFunction] = RouteTable()
        for function in functions:
            self.routes.add(function.route, function.methods, function)
        self.invoker = invoker
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self._active = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    @contextmanager
    def tracking_request(self) -> Iterator[None]:
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for requests being handled to finish; False if some still run."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"


class _Response:
    def __init__(self, status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()):
        self.status = status
        self.body = body
        self.headers = list(headers)


def _plain(status: HTTPStatus, message: str | None = None, **headers: str) -> _Response:
    text = (message or status.phrase).encode()
    return _Response(
        status, text, [("Content-Type", "text/plain; charset=utf-8"), *headers.items()]
    )


class _Handler(BaseHTTPRequestHandler):
    server: FunctionsHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "drydock-devhost"
    # Headers and body go out in two writes; Nagle would hold the body back
    # for a delayed ACK (~40 ms) on keep-alive connections.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client starts sending it.
        try:
            length = content_length(self.headers.get("Content-Length"))
        except MalformedBody:
            length = None
        if length is not None and length > self.server.max_body_bytes:
            self._body_pending = True
            self._send(_plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE), started=time.monotonic())
            return False
        return super().handle_expect_100()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        started = time.monotonic()
        self._body_pending = self._has_body()
        with self.server.tracking_request():
            self._respond(started)

    def _respond(self, started: float) -> None:
        try:
            response = self._serve()
        except BodyTooLarge:
            self._body_pending = True  # the rest of it stays unread
            response = _plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        except MalformedBody as exc:
            self._body_pending = True
            response = _plain(HTTPStatus.BAD_REQUEST, str(exc))
        self._send(response, started)

    def _has_body(self) -> bool:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        return chunked or self.headers.get("Content-Length", "0").strip() not in ("", "0")

    def _serve(self) -> _Response:
        length = content_length(self.headers.get("Content-Length"))
        if length is not None and length > self.server.max_body_bytes:
            return _plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        url = urlsplit(self.path)
        match = self._route(url.path)
        if isinstance(match, _Response):
            return match
        function = match.target
        assert function is not None
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = self._header_dict()
        if not is_authorized(function.auth_level, headers, query, self.server.api_key):
            return _plain(HTTPStatus.UNAUTHORIZED)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        body = read_body(self.rfile, length, chunked, self.server.max_body_bytes)
        self._body_pending = False
        request = func.HttpRequest(
            method=self.command,
            url=self._request_url(headers),
            headers=headers,
            params=query,
            route_params=match.route_params,
            body=body,
        )
        return self._invoke(function, request)

    def _route(self, path: str) -> RouteMatch[HttpFunction] | _Response:
        prefix, _, route_path = path.lstrip("/").partition("/")
        if prefix.lower() != ROUTE_PREFIX:
            return _plain(HTTPStatus.NOT_FOUND)
        match = self.server.routes.resolve(self.command, route_path)
        if match is None:
            return _plain(HTTPStatus.NOT_FOUND)
        if match.target is None:
            allow = ", ".join(sorted(match.allowed_methods))
            return _plain(HTTPStatus.METHOD_NOT_ALLOWED, Allow=allow)
        return match

    def _request_url(self, headers: dict[str, str]) -> str:
        host = headers.get("host") or self.server.base_url.removeprefix("http://")
        return f"http://{host}{self.path}"

    def _header_dict(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _invoke(self, function: HttpFunction, request: func.HttpRequest) -> _Response:
        try:
            result = self.server.invoker.invoke(function, request)
        except Exception:
            logger.exception("function %s failed", function.name)
            return _plain(HTTPStatus.INTERNAL_SERVER_ERROR, "function failed; see the host log")
        return _from_result(result)

    def _send(self, response: _Response, started: float) -> None:
        if self._body_pending:
            self.close_connection = True
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        if "content-type" not in names and response.body:
            self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(response.body)
        elapsed = (time.monotonic() - started) * 1000
        path = self.path.split("?", 1)[0]  # the query may carry the function key
        logger.info("%s %s -> %d (%.1f ms)", self.command, path, response.status, elapsed)


def _from_result(result: Any) -> _Response:
    if isinstance(result, func.HttpResponse):
        headers = list(result.headers.items())
        if not any(name.lower() == "content-type" for name, _ in headers):
            charset = f"; charset={result.charset}" if result.charset else ""
            headers.append(("Content-Type", f"{result.mimetype}{charset}"))
        return _Response(result.status_code, result.get_body() or b"", headers)
    if result is None:
        return _Response(HTTPStatus.NO_CONTENT)
    if isinstance(result, str):
        result = result.encode()
    if isinstance(result, bytes):
        return _Response(HTTPStatus.OK, result, [("Content-Type", "text/plain; charset=utf-8")])
    logger.error("function returned %s, not an HttpResponse", type(result).__name__)
    return _plain(HTTPStatus.INTERNAL_SERVER_ERROR, "function returned no HttpResponse")
