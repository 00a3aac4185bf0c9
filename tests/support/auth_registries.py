"""Real CNCF Distribution registries with authentication, for the tests:
token auth with a small token issuer of our own (the part a real deployment
gets from Docker Hub's, GHCR's or ACR's auth service), and htpasswd basic auth."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import bcrypt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from shared.registry.client import Credential

USER, PASSWORD = "drydock", "s3cret-pass"
SERVICE, ISSUER = "drydock-test-registry", "drydock-test-issuer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """Signs registry JWTs (RS256, x5c header) for the one test user."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drydock test token issuer")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def token(self, scope: str) -> str:
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        now = int(time.time())
        access = []
        for item in filter(None, scope.split(" ")):
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def _issuer_handler(issuer: TokenIssuer) -> type[http.server.BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            scope = parse_qs(urlsplit(self.path).query).get("scope", [""])[0]
            body = json.dumps({"token": issuer.token(scope), "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def _registry(folder: Path, auth_yaml: str) -> Iterator[str]:
    port = free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder}/data\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth_yaml}"
    )
    log = (folder / "registry.log").open("w")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, folder / "registry.log")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_for(base: str, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/v2/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"test registry at {base} did not start: {log.read_text()[-500:]}")


@contextmanager
def token_registry(folder: Path) -> Iterator[tuple[str, object, Credential]]:
    issuer = TokenIssuer()
    (folder / "root.pem").write_bytes(issuer.cert_pem())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _issuer_handler(issuer))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    auth_yaml = (
        f"auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n    rootcertbundle: {folder}/root.pem\n"
    )
    try:
        with _registry(folder, auth_yaml) as base:
            yield (
                base,
                lambda scope: {"Authorization": f"Bearer {issuer.token(scope)}"},
                Credential(USER, PASSWORD),
            )
    finally:
        server.shutdown()


@contextmanager
def basic_registry(folder: Path) -> Iterator[tuple[str, object, Credential]]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    (folder / "htpasswd").write_text(f"{USER}:{hashed}\n")
    auth_yaml = f"auth:\n  htpasswd:\n    realm: drydock-test\n    path: {folder}/htpasswd\n"
    header = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    with _registry(folder, auth_yaml) as base:
        yield base, lambda _scope: header, Credential(USER, PASSWORD)
