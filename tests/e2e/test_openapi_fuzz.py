"""Schemathesis against the running stack: every operation of the OpenAPI document,
with the key, valid and invalid inputs, a bounded number of examples each.

The property: no 5xx, ever; and a 4xx that answers JSON says why. Inputs that
would make the builder reach out (a parsable context, a command's image, an
inline task file, a base image to poll) are pointed at a closed loopback port
first: the engine and the builder must not contact hosts the fuzzer invents.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from shared.context_url import parse_context_url
from shared.errors import InvalidRequest

pytestmark = pytest.mark.e2e

DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "openapi.json"
SCHEMA = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
OPERATIONS = {op.ok().definition.raw["operationId"]: op.ok() for op in SCHEMA.get_all_operations()}
EXAMPLES = int(os.environ.get("DRYDOCK_FUZZ_EXAMPLES", "20"))
CLOSED = "127.0.0.1:9"  # the discard port: nothing listens, a connection fails at once
FIGURES: Counter[str] = Counter()


def _defused_context(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        parse_context_url(value)
    except InvalidRequest:
        return value  # refused at the API: harmless, and worth sending
    return f"http://{CLOSED}/context.tar.gz"


def _defuse(case) -> None:
    body = case.body
    if isinstance(body, dict):
        if "context" in body:
            body["context"] = _defused_context(body["context"])
        if isinstance(body.get("cmd"), str) and body["cmd"].strip():
            body["cmd"] = f"{CLOSED}/none:1 true"
        if isinstance(body.get("taskFile"), str):
            body["taskFile"] = f"steps:\n  - cmd: {CLOSED}/none:1 true\n"
    query = case.query or {}
    if "cmd" in query:
        query["cmd"] = f"{CLOSED}/none:1 true"
    if case.operation.definition.raw["operationId"] == "check_base_images" and "image" in query:
        query["image"] = f"{CLOSED}/none:1"


@pytest.fixture(scope="module")
def cleanup(api_url, api_key):
    """Tasks the fuzzer created are deleted and its runs canceled afterwards."""
    headers = {"x-functions-key": api_key}
    before = {
        t["name"] for t in requests.get(f"{api_url}/api/tasks", headers=headers).json()["tasks"]
    }
    started = time.time()
    yield
    for task in requests.get(f"{api_url}/api/tasks", headers=headers, timeout=30).json()["tasks"]:
        if task["name"] not in before:
            requests.delete(f"{api_url}/api/tasks/{task['name']}", headers=headers, timeout=30)
    runs = requests.get(f"{api_url}/api/runs?top=1000", headers=headers, timeout=30).json()["runs"]
    for run in runs:
        if run["status"] in ("Queued", "Running") and _epoch(run["createTime"]) >= started - 5:
            requests.post(f"{api_url}/api/runs/{run['runId']}/cancel", headers=headers, timeout=30)
    print("schemathesis figures:", dict(sorted(FIGURES.items())))


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_the_served_document_is_the_file(api_url):
    served = requests.get(f"{api_url}/api/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text())


def _has_inputs(operation) -> bool:
    raw = operation.definition.raw
    return "{" in operation.path or bool(raw.get("parameters") or raw.get("requestBody"))


# Invalid input exists only for operations that take some.
CASES = [
    pytest.param(operation_id, mode, id=f"{operation_id}-{mode.value}")
    for operation_id, operation in sorted(OPERATIONS.items())
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_inputs(operation)
]


@pytest.mark.parametrize(("operation_id", "mode"), CASES)
def test_no_input_makes_a_server_error(api_url, api_key, cleanup, operation_id, mode):
    operation = OPERATIONS[operation_id]
    session = requests.Session()
    answers: Counter[int] = Counter()
    problems: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def exercise(case) -> None:
        _defuse(case)
        response = case.call(
            base_url=api_url, session=session, headers={"x-functions-key": api_key}, timeout=60
        )
        answers[response.status_code] += 1
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{where}: {response.text[:300]}\n  {case.as_curl_command()[:600]}")
        elif 400 <= response.status_code < 500 and "json" in response.headers.get(
            "content-type", ""
        ):
            error = response.json().get("error") if response.text else None
            if not (isinstance(error, str) and error.strip()):
                problems.append(f"{where}: a refusal without a reason: {response.text[:200]}")

    exercise()
    FIGURES[f"{operation_id} {mode.value}"] = sum(answers.values())
    FIGURES["requests"] += sum(answers.values())
    assert not problems, "\n".join(problems[:5])
    assert sum(answers.values()) > 0
