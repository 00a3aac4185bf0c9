"""The `drydock` CLI over real HTTP, against a stand-in for the API.

``FakeDrydockApi`` is test scaffolding, not Drydock: a stdlib HTTP server on
127.0.0.1 that answers the few endpoints the CLI calls, the way DESIGN.md's
contract says, and records what it was sent. The real API is exercised by the
end-to-end tests.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from cli.main import cli

API_KEY = "test-key-123"
RUN_ID = "ca1"


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeDrydockApi:
    url: str = ""
    final_status: str = "Succeeded"
    error: str | None = None
    log_pieces: list[bytes] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    received: list[Recorded] = field(default_factory=list)
    _log: bytes = b""

    def run(self, status: str) -> dict:
        run = {
            "runId": RUN_ID,
            "status": status,
            "trigger": "Manual",
            "createTime": "2024-05-01T10:00:00Z",
        }
        if status not in ("Queued", "Running"):
            run |= {
                "startTime": "2024-05-01T10:00:00Z",
                "finishTime": "2024-05-01T10:00:12Z",
                "error": self.error,
            }
        return run

    def answer(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("x-functions-key") != API_KEY:
            return _json(401, {"error": "missing or wrong API key"})
        if req.method == "POST" and req.path == "/api/builds":
            return _json(202, self.run("Queued"))
        if req.method == "GET" and req.path == f"/api/runs/{RUN_ID}/logs":
            # One new piece per poll; the run is over once every piece is out.
            if self.log_pieces:
                self._log += self.log_pieces.pop(0)
            status = "Running" if self.log_pieces else self.final_status
            offset = int(dict(req.query).get("offset", "0"))
            body = self._log[offset:]
            headers = {
                "Content-Type": "text/plain; charset=utf-8",
                "X-Log-Offset": str(offset + len(body)),
                "X-Run-Status": status,
            }
            return 200, headers, body
        if req.method == "GET" and req.path == f"/api/runs/{RUN_ID}":
            return _json(200, self.run(self.final_status))
        if req.method == "GET" and req.path == "/api/runs":
            return _json(200, {"runs": self.runs})
        return _json(404, {"error": f"no route {req.method} {req.path}"})


def _json(status: int, payload: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


@pytest.fixture
def api():
    fake = FakeDrydockApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            req = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qsl(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
            fake.received.append(req)
            status, headers, body = fake.answer(req)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def context_dir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /\n")
    (tmp_path / "app.txt").write_text("hello\n")
    (tmp_path / "secret.env").write_text("X=1\n")
    (tmp_path / ".dockerignore").write_text("*.env\n")
    return tmp_path


def drydock(api: FakeDrydockApi, *args: str, key: str = API_KEY):
    env = {"DRYDOCK_URL": api.url, "DRYDOCK_API_KEY": key}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_build_posts_the_context_and_streams_the_log(
    api: FakeDrydockApi, context_dir: Path
) -> None:
    snowman = "☃".encode()
    api.log_pieces = [b"Step 1/2 : FROM scratch\n", b"Step 2/2 " + snowman[:2], snowman[2:] + b"\n"]

    result = drydock(
        api,
        "build",
        "-t",
        "hello:{{.Run.ID}}",
        "--build-arg",
        "A=1",
        "--no-push",
        str(context_dir),
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-5:] == [
        "Queued a build with ID: ca1",
        "Waiting for an agent...",
        "Step 1/2 : FROM scratch",
        "Step 2/2 ☃",
        "Run ID: ca1 was successful after 12s",
    ]

    post = api.received[0]
    assert (post.method, post.path) == ("POST", "/api/builds")
    assert post.headers["content-type"] == "application/gzip"
    assert post.headers["x-functions-key"] == API_KEY
    assert post.query == [("image", "hello:{{.Run.ID}}"), ("buildArg", "A=1"), ("noPush", "true")]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(post.body))) as tf:
        assert sorted(tf.getnames()) == [".dockerignore", "Dockerfile", "app.txt"]
    log_reads = [r for r in api.received if r.path.endswith("/logs")]
    assert len(log_reads) >= 4  # three pieces, then a read that brings nothing


def test_build_exits_1_when_the_run_failed(api: FakeDrydockApi, context_dir: Path) -> None:
    api.final_status, api.error = "Failed", "step build: exit status 1"
    api.log_pieces = [b"RUN false\n"]

    result = drydock(api, "build", "-t", "hello:v1", str(context_dir))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[-2:] == [
        "RUN false",
        "Run ID: ca1 failed: step build: exit status 1",
    ]


def test_a_remote_source_is_posted_as_json(api: FakeDrydockApi) -> None:
    result = drydock(
        api,
        "build",
        "-t",
        "app:1",
        "--secret-build-arg",
        "T=s",
        "--no-wait",
        "https://git.example.com/app.git#main:src",
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runId"] == RUN_ID  # nothing else on stdout
    assert "Queued a build with ID: ca1" in result.stderr
    assert json.loads(api.received[0].body) == {
        "context": "https://git.example.com/app.git#main:src",
        "images": ["app:1"],
        "secretBuildArgs": {"T": "s"},
    }


def test_a_wrong_key_prints_the_server_error(api: FakeDrydockApi, context_dir: Path) -> None:
    result = drydock(api, "build", "--no-push", str(context_dir), key="wrong")

    assert result.exit_code == 3
    assert "missing or wrong API key" in result.stderr
    assert "HTTP 401" in result.stderr


def test_local_mistakes_are_caught_before_any_request(
    api: FakeDrydockApi, context_dir: Path
) -> None:
    no_folder = drydock(api, "build", str(context_dir / "nope"))
    no_dockerfile = drydock(api, "build", "-f", "Other.dockerfile", str(context_dir))
    bad_arg = drydock(api, "build", "--build-arg", "NOVALUE", str(context_dir))

    assert [r.exit_code for r in (no_folder, no_dockerfile, bad_arg)] == [2, 2, 2]
    assert "does not exist" in no_folder.stderr
    assert "no Dockerfile at" in no_dockerfile.stderr
    assert "KEY=VALUE" in bad_arg.stderr
    assert api.received == []


def test_an_unreachable_api_exits_3() -> None:
    result = CliRunner().invoke(
        cli, ["runs"], env={"DRYDOCK_URL": "http://127.0.0.1:9", "DRYDOCK_API_KEY": "k"}
    )
    assert result.exit_code == 3
    assert "cannot reach Drydock at http://127.0.0.1:9" in result.stderr


def test_logs_prints_a_finished_run(api: FakeDrydockApi) -> None:
    api.log_pieces = [b"one\n", b"two\n"]

    result = drydock(api, "logs", RUN_ID)

    assert result.exit_code == 0, result.output
    assert result.stdout == "one\ntwo\n"


def test_runs_prints_the_table(api: FakeDrydockApi) -> None:
    api.runs = [
        api.run("Succeeded") | {"task": "hello", "runId": "ca2"},
        api.run("Running") | {"startTime": "2024-05-01T10:00:01Z"},
    ]

    result = drydock(api, "runs", "--status", "Succeeded", "--top", "5")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "RUN ID  TASK   PLATFORM  STATUS     TRIGGER  STARTED               DURATION",
        "------  -----  --------  ---------  -------  --------------------  --------",
        "ca2     hello  linux     Succeeded  Manual   2024-05-01T10:00:00Z  00:00:12",
        "ca1            linux     Running    Manual   2024-05-01T10:00:01Z",
    ]
    assert api.received[0].query == [("status", "Succeeded"), ("top", "5")]


def test_runs_json_output_and_task_alias(api: FakeDrydockApi) -> None:
    api.runs = [api.run("Failed")]

    as_json = drydock(api, "runs", "-o", "json")
    alias = drydock(api, "task", "list-runs", "--task", "hello")

    assert json.loads(as_json.stdout) == {"runs": api.runs}
    assert alias.exit_code == 0 and "ca1" in alias.stdout
    assert api.received[-1].query == [("task", "hello")]
