"""The Functions entry point: registers the blueprints of ``functions/``, nothing else."""

import azure.functions as func

from functions import (
    base_images,
    builds_api,
    git_webhooks,
    health,
    notifications,
    openapi,
    retention,
    run_control,
    run_events,
    runs_api,
    runs_submit_api,
    task_schedules,
    tasks_api,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    builds_api.bp,
    runs_api.bp,
    health.bp,
    run_events.bp,
    run_control.bp,
    retention.bp,
    tasks_api.bp,
    git_webhooks.bp,
    task_schedules.bp,
    runs_submit_api.bp,
    base_images.bp,
    openapi.bp,
    notifications.bp,
):
    app.register_functions(blueprint)
