import azure.functions as func

from devhost.discovery import HttpFunction, QueueFunction, TimerFunction, describe_all, discover


def _app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="runs/{runId}", methods=["GET"])
    def get_run(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("")

    @app.route(auth_level=func.AuthLevel.ANONYMOUS)
    def health(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        return func.HttpResponse("")

    @app.queue_trigger(
        arg_name="msg", queue_name="build-requests", connection="AzureWebJobsStorage"
    )
    def on_build(msg: func.QueueMessage) -> None:
        pass

    @app.timer_trigger(schedule="%X%", arg_name="t", run_on_startup=True)
    async def poll(t: func.TimerRequest) -> None:
        pass

    return app


def test_discover_reads_triggers_into_descriptors():
    get_run, health, on_build, poll = discover(_app())
    assert isinstance(get_run, HttpFunction)
    assert (get_run.route, get_run.methods, get_run.auth_level) == (
        "runs/{runId}",
        frozenset({"GET"}),
        "FUNCTION",
    )
    assert (get_run.arg_name, get_run.takes_context) == ("req", False)
    assert isinstance(health, HttpFunction)
    assert (health.route, health.methods, health.auth_level) == ("health", None, "ANONYMOUS")
    assert health.takes_context
    assert isinstance(on_build, QueueFunction)
    assert (on_build.queue_name, on_build.connection, on_build.arg_name) == (
        "build-requests",
        "AzureWebJobsStorage",
        "msg",
    )
    assert isinstance(poll, TimerFunction)
    assert (poll.schedule, poll.run_on_startup, poll.arg_name) == ("%X%", True, "t")


def test_listing_names_routes_queues_and_schedules():
    listing = describe_all(
        discover(_app()), "http://127.0.0.1:7071", lambda s: s.replace("%X%", "0 * * * * *")
    )
    assert "get_run: [GET] http://127.0.0.1:7071/api/runs/{runId}" in listing
    assert "queue build-requests" in listing
    assert "timerTrigger (0 * * * * *, runOnStartup)" in listing
