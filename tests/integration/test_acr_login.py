"""ACR's Entra ID login. Entra ID and ACR's /oauth2/exchange cannot run here, so
both are stand-ins: a fake token credential, and a loopback HTTP server playing
ACR's exchange endpoint as documented (form in, ``refresh_token`` out)."""

from __future__ import annotations

import http.server
import json
import threading
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest

from shared.errors import TransientError
from shared.registry.acr import ACR_USER, ARM_SCOPE, AcrLogin
from shared.registry.client import Credential

pytestmark = pytest.mark.integration


class FakeEntraCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> SimpleNamespace:
        self.scopes.append(scopes)
        return SimpleNamespace(token="entra-access-token", expires_on=0)


@pytest.fixture
def exchange():
    forms: list[dict[str, list[str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers["Content-Length"])
            forms.append(parse_qs(self.rfile.read(length).decode()))
            body = json.dumps({"refresh_token": f"acr-refresh-{len(forms)}"}).encode()
            self.send_response(Handler.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", forms, Handler
    server.shutdown()


def test_an_entra_token_is_exchanged_once_for_an_acr_refresh_token(exchange):
    registry, forms, _ = exchange
    entra = FakeEntraCredential()
    login = AcrLogin(
        entra, lambda _r: None, is_acr=lambda r: r == registry, base_url=lambda r: f"http://{r}"
    )
    assert login(registry) == Credential(ACR_USER, "acr-refresh-1")
    assert login(registry) == Credential(ACR_USER, "acr-refresh-1")  # cached
    assert entra.scopes == [(ARM_SCOPE,)]
    assert forms == [
        {
            "grant_type": ["access_token"],
            "service": [registry],
            "access_token": ["entra-access-token"],
        }
    ]


def test_configured_credentials_win_and_other_registries_are_left_alone(exchange):
    registry, forms, _ = exchange
    configured = Credential("user", "pass")
    login = AcrLogin(
        FakeEntraCredential(),
        lambda r: configured if r == registry else None,
        is_acr=lambda r: True,
        base_url=lambda r: f"http://{r}",
    )
    assert login(registry) == configured
    plain = AcrLogin(FakeEntraCredential(), lambda _r: None)
    assert plain("ghcr.io") is None
    assert forms == []


def test_a_refused_exchange_is_a_transient_error(exchange):
    registry, _, handler = exchange
    handler.status = 401
    login = AcrLogin(
        FakeEntraCredential(),
        lambda _r: None,
        is_acr=lambda r: True,
        base_url=lambda r: f"http://{r}",
    )
    with pytest.raises(TransientError, match="401"):
        login(registry)
