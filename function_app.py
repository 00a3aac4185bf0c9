"""The Functions entry point: registers the blueprints of ``functions/``, nothing else."""

import azure.functions as func

from functions import builds_api, health, run_events, runs_api

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (builds_api.bp, runs_api.bp, health.bp, run_events.bp):
    app.register_functions(blueprint)
