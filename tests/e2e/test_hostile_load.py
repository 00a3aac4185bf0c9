"""A burst of 500 signed GitHub push deliveries, a tenth of them repeats, through
HTTP: every new delivery starts exactly one run of its task, every repeat answers
the same and starts nothing, and nothing answers 5xx.

The tasks' repositories are on a closed loopback port, so a run that a builder
takes fails at once instead of building; the test cancels what is still queued.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.task_support import call, webhook_secret_from_env

pytestmark = pytest.mark.e2e

DELIVERIES = 500
REPEATS = 50
TASKS = 3


def _delivery(index: int, url: str) -> tuple[str, bytes]:
    body = {"ref": "refs/heads/main", "before": "1" * 40, "after": f"{index + 1:040x}",
            "repository": {"clone_url": url, "default_branch": "main"}}  # fmt: skip
    return str(uuid.uuid4()), json.dumps(body).encode()


@pytest.fixture
def tasks(api, unique_name):
    names = {}
    for index in range(TASKS):
        name = f"load-{unique_name}-{index}"
        url = f"git://127.0.0.1:9/{unique_name}/repo{index}.git"
        body = {"context": f"{url}#main", "noPush": True, "supersedeQueuedRuns": False,
                "triggers": {"baseImage": {"enabled": False}}}  # fmt: skip
        assert call(api, "PUT", f"/api/tasks/{name}", json=body).status_code == 201
        names[name] = url
    yield names
    for name in names:
        for run in api.get(f"/api/runs?task={name}&status=Queued&top=1000").json()["runs"]:
            api.post(f"/api/runs/{run['runId']}/cancel")
        call(api, "DELETE", f"/api/tasks/{name}")


def test_a_burst_of_signed_pushes_with_repeats_starts_exactly_the_runs_it_should(api, tasks):
    secret = webhook_secret_from_env()
    rng = random.Random(7)
    targets = list(tasks.items())
    unique = [(targets[i % TASKS][0], *_delivery(i, targets[i % TASKS][1]))
              for i in range(DELIVERIES - REPEATS)]  # fmt: skip
    sends = unique + [rng.choice(unique) for _ in range(REPEATS)]
    rng.shuffle(sends)
    session = requests.Session()

    def send(item: tuple[str, str, bytes]) -> tuple[str, int, str, float]:
        task, delivery, body = item
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
                   "X-Hub-Signature-256": f"sha256={signature}",
                   "Content-Type": "application/json"}  # fmt: skip
        started = time.monotonic()
        answer = session.post(f"{api.url}/api/webhooks/github", data=body, headers=headers,
                              timeout=60)  # fmt: skip
        return delivery, answer.status_code, answer.text, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, sends))
    elapsed = time.monotonic() - started

    assert {status for _, status, _, _ in answers} == {202}, [a for a in answers if a[1] != 202][:3]
    by_delivery: dict[str, set[str]] = {}
    for delivery, _, text, _ in answers:
        by_delivery.setdefault(delivery, set()).add(json.dumps(json.loads(text)["runs"]))
    # A repeat answers what the first answered: the same one run.
    assert all(len(runs) == 1 for runs in by_delivery.values())
    started_runs = [json.loads(next(iter(runs))) for runs in by_delivery.values()]
    assert all(len(runs) == 1 for runs in started_runs)
    assert len({runs[0] for runs in started_runs}) == DELIVERIES - REPEATS
    for index, name in enumerate(tasks):
        expected = sum(1 for i in range(DELIVERIES - REPEATS) if i % TASKS == index)
        listed = api.get(f"/api/runs?task={name}&top=1000").json()["runs"]
        assert len(listed) == expected, name
        assert {run["trigger"] for run in listed} == {"Commit"}
        assert len({run["source"]["commit"] for run in listed}) == expected
    slowest = max(seconds for *_, seconds in answers)
    print(f"{DELIVERIES} deliveries in {elapsed:.1f} s, slowest answer {slowest:.2f} s")
    assert slowest < 10  # GitHub gives up after 10 s
