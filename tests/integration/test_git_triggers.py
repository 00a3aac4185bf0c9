"""Git triggers end to end below HTTP: real repositories behind ``git daemon``,
signed webhook deliveries to the trigger service, runs taken by the real builder."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from builder.run_lifecycle import execute_run
from shared.runs import RunStatus, Trigger
from shared.storage.task_tables import TableDeliveryStore, TableTaskStore
from shared.task_parsing import parse_task
from shared.task_triggers import TriggerServices, handle_git_webhook
from shared.webhooks import github
from tests.support.git_server import Repository, git_daemon

pytestmark = pytest.mark.integration

SECRET = "integration-webhook-secret"


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    with git_daemon(root) as url:
        yield url, root


@pytest.fixture
def triggers(ctx, storage_connection, unique_name):
    tasks = TableTaskStore(storage_connection, f"{unique_name}tasks")
    deliveries = TableDeliveryStore(storage_connection, f"{unique_name}deliveries")
    tasks.ensure_table()
    deliveries.ensure_table()
    yield TriggerServices(tasks, deliveries, ctx.adapters.submission(), SECRET, time.sleep)
    service = TableServiceClient.from_connection_string(storage_connection)
    service.delete_table(f"{unique_name}tasks")
    service.delete_table(f"{unique_name}deliveries")


def _save(services, name, **body):
    task = parse_task(name, json.dumps(body).encode(), None, datetime.now(UTC), "unused")
    services.tasks.put(task, None)


def _deliver(triggers, event, body, delivery):
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"x-github-event": event, "x-github-delivery": delivery,
               "x-hub-signature-256": f"sha256={signature}"}  # fmt: skip
    return handle_git_webhook(github.PROVIDER, headers, raw, triggers, datetime.now(UTC))


def _push(url, ref, before, after):
    return {"ref": ref, "before": before, "after": after, "deleted": False,
            "repository": {"clone_url": url, "default_branch": "main"}}  # fmt: skip


def _run_queued(ctx, run_id):
    for delivery in ctx.adapters.build_queue.receive(32, 60):
        if delivery.body == {"runId": run_id}:
            execute_run(run_id, delivery.dequeue_count, ctx)
            ctx.adapters.build_queue.delete(delivery)
    return ctx.adapters.runs.get(run_id)[0]


def test_a_push_builds_exactly_the_pushed_commit(
    ctx, base, served, triggers, registry_host, unique_name, docker_client, tmp_path
):
    url, root = served
    repo = Repository(tmp_path / "work", root / "app.git")
    first = repo.commit({"Dockerfile": f"FROM {base[0]}\nCOPY . /src\n", "app.txt": "one\n"}, "1")
    image = f"{registry_host}/{unique_name}/app:{{{{.Run.Commit}}}}"
    _save(triggers, "app-on-main", context=f"{url}/app.git#main", images=[image])
    # Two commits in one push; the delivery names the newest.
    repo.work.joinpath("app.txt").write_text("two\n")
    pushed = repo.commit({"app.txt": "three\n"}, "3")
    status, answer = _deliver(triggers, "push", _push(f"{url}/app.git", "refs/heads/main", first,
                                                      pushed), "d-push")  # fmt: skip
    assert status == 202
    (run_id,) = answer["runs"]
    # The branch moves on before a builder takes the run: it must still build ``pushed``.
    repo.commit({"app.txt": "four\n"}, "4")
    run = _run_queued(ctx, run_id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert (run.trigger, run.commit, run.branch) == (Trigger.COMMIT, pushed, "main")
    assert run.images[0].tag == pushed
    content = docker_client.containers.run(
        f"{registry_host}/{unique_name}/app:{pushed}", ["cat", "/src/app.txt"], remove=True
    )
    assert content == b"three\n"


def test_ten_concurrent_copies_of_a_delivery_start_one_run(
    ctx, served, triggers, tmp_path, unique_name
):
    url, root = served
    repo = Repository(tmp_path / "work", root / "app.git")
    head = repo.commit({"Dockerfile": "FROM scratch\n"}, "1")
    name = f"dedupe-{unique_name}"
    _save(triggers, name, context=f"{url}/app.git", images=["dedupe:{{.Run.ID}}"])
    body = _push(f"{url}/app.git", "refs/heads/main", "0" * 39 + "1", head)
    answers = []
    barrier = threading.Barrier(10)

    def deliver():
        barrier.wait()
        answers.append(_deliver(triggers, "push", body, "d-concurrent"))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 10 and all(answer == answers[0] for answer in answers)
    status, answer = answers[0]
    assert status == 202 and len(answer["runs"]) == 1
    runs = list(ctx.adapters.runs.list(task=name, status=None, trigger=None, top=50))
    assert [run.run_id for run in runs] == answer["runs"]
    ctx.adapters.runs.replace(runs[0].finished(RunStatus.CANCELED, datetime.now(UTC)),
                              ctx.adapters.runs.get(runs[0].run_id)[1])  # fmt: skip


def test_a_pull_request_builds_its_head_without_pushing(
    ctx, base, served, triggers, registry_host, unique_name, tmp_path
):
    url, root = served
    repo = Repository(tmp_path / "work", root / "app.git")
    repo.commit({"Dockerfile": f"FROM {base[0]}\nCOPY . /src\nRUN cat /src/app.txt\n",
                 "app.txt": "main\n"}, "1")  # fmt: skip
    head = repo.commit({"app.txt": "from-the-pr-head\n"}, "pr", branch="feature")
    _save(triggers, "pr-app-task", context=f"{url}/app.git#main",
          images=[f"{registry_host}/{unique_name}/pr:1"],
          triggers={"pullRequest": {"enabled": True}})  # fmt: skip
    body = {"action": "opened", "number": 1,
            "pull_request": {"head": {"ref": "feature", "sha": head}, "base": {"ref": "main"}},
            "repository": {"clone_url": f"{url}/app.git", "default_branch": "main"}}  # fmt: skip
    status, answer = _deliver(triggers, "pull_request", body, "d-pr")
    assert status == 202
    run = _run_queued(ctx, answer["runs"][0])
    log = ctx.adapters.logs.read(run.run_id, 0).decode()
    assert run.status is RunStatus.SUCCEEDED, log
    assert (run.trigger, run.commit, run.spec.no_push) == (Trigger.PULL_REQUEST, head, True)
    assert "from-the-pr-head" in log
