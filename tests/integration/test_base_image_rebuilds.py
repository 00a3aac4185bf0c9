"""The headline, end to end in-process: a task built once; its base pushed again
under the same tag; one check (raced by a second) rebuilds it exactly once, and
the new image holds the new base; a task built FROM that image follows (chain)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from builder.discovery import discover_task_dependencies
from builder.run_lifecycle import execute_run
from shared.base_image_poll import check_image
from shared.base_image_rebuilds import base_image_status, follow_up_finished_run
from shared.runs import RunStatus, Trigger
from shared.submission import RunOrigin
from shared.task_runs import start_task_run
from shared.task_service import save_task
from tests.support.archives import make_tar
from tests.support.images import make_base_image

pytestmark = pytest.mark.integration


def _save(ctx, name: str, url: str, image: str) -> None:
    body = json.dumps({"context": url, "images": [image]}).encode()
    save_task(name, body, ctx.adapters.tasks, datetime.now(UTC), ctx.adapters.settings.registry)


def _run_next(ctx):
    """Take the next queued run as the worker does, run it, follow it up as the
    run-events function does; returns the finished run and the runs it chained."""
    (delivery,) = list(ctx.adapters.build_queue.receive(1, 60))
    finished = execute_run(delivery.body["runId"], delivery.dequeue_count, ctx)
    ctx.adapters.build_queue.delete(delivery)
    assert finished is not None
    starter = ctx.adapters.rebuild_starter(datetime.now(UTC))
    chained = follow_up_finished_run(
        finished, ctx.adapters.base_images, ctx.adapters.registry, starter
    )
    return finished, chained


def _check(ctx, image: str) -> list[str]:
    now = datetime.now(UTC)
    return check_image(
        image,
        ctx.adapters.base_images,
        ctx.adapters.registry,
        ctx.adapters.rebuild_starter(now),
        now,
    )


def test_a_base_update_rebuilds_its_dependents_once_and_chains(
    ctx, web, docker_client, registry_host, unique_name
):
    url, routes = web
    base = f"{registry_host}/{unique_name}/base:1"
    v1 = make_base_image(docker_client, base, {"/etc/base-release": "one\n"})
    app_image = f"{registry_host}/{unique_name}/app:latest"
    routes["/app.tar.gz"] = (200, {}, make_tar({"Dockerfile": f"FROM {base}\nRUN echo app\n"}))
    routes["/web.tar.gz"] = (200, {}, make_tar({"Dockerfile": f"FROM {app_image}\n"}))
    app, site = f"{unique_name}-app", f"{unique_name}-web"
    _save(ctx, app, f"{url}/app.tar.gz", f"{unique_name}/app:latest")
    _save(ctx, site, f"{url}/web.tar.gz", f"{unique_name}/web:latest")

    # Known before any run: the Dockerfile is parsed when the task is saved.
    assert discover_task_dependencies(app, ctx) == [(base, "runtime")]
    (status,) = base_image_status(app, ctx.adapters.base_images)
    assert status["builtWith"] == v1 and status["stale"] is False

    for name in (app, site):
        task, _ = ctx.adapters.tasks.get(name)
        start_task_run(
            task, RunOrigin(task=task.name), ctx.adapters.submission(), datetime.now(UTC)
        )
        finished, _ = _run_next(ctx)
        assert finished.status is RunStatus.SUCCEEDED

    v2 = make_base_image(docker_client, base, {"/etc/base-release": "two\n"})
    assert v2 != v1
    with ThreadPoolExecutor(max_workers=2) as pool:  # two pollers at once
        started = [run for runs in pool.map(lambda _: _check(ctx, base), range(2)) for run in runs]
    assert len(started) == 1
    rebuild, _ = ctx.adapters.runs.get(started[0])
    assert rebuild.trigger is Trigger.BASE_IMAGE_UPDATE and rebuild.task == app
    assert rebuild.base_image_update["fromDigest"] == v1
    assert rebuild.base_image_update["toDigest"] == v2
    assert _check(ctx, base) == []  # a repeated event starts nothing new

    finished, chained = _run_next(ctx)
    assert finished.status is RunStatus.SUCCEEDED
    assert finished.dependencies.runtime.digest == v2
    output = docker_client.containers.run(app_image, ["cat", "/etc/base-release"], remove=True)
    assert output.decode() == "two\n"
    assert len(chained) == 1  # the web task builds FROM the app image just pushed
    chained_run, _ = ctx.adapters.runs.get(chained[0])
    assert chained_run.task == site
    assert chained_run.base_image_update["chain"] == f"{app},{site}"
    finished, chained_again = _run_next(ctx)
    assert finished.status is RunStatus.SUCCEEDED and chained_again == []
    assert [s["stale"] for s in base_image_status(app, ctx.adapters.base_images)] == [False]
