"""Timer triggers against Azurite: seconds schedules, runOnStartup, one instance at a time."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import datetime

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient

from devhost.discovery import discover
from devhost.leases import LOCK_CONTAINER, RENEW_SECONDS
from tests.integration.devhost.conftest import wait_until

pytestmark = pytest.mark.integration

app = func.FunctionApp()
fired: queue.Queue[tuple[str, str, bool]] = queue.Queue()


@app.timer_trigger(schedule="%DEVHOST_TICK_SCHEDULE%", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    fired.put(("tick", timer.schedule_status["Last"], timer.past_due))


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
async def at_startup(timer: func.TimerRequest, context: func.Context) -> None:
    fired.put((context.function_name, timer.schedule_status["Last"], timer.past_due))


@app.timer_trigger(schedule="* * * * * *", arg_name="timer")
def always_fails(timer: func.TimerRequest) -> None:
    fired.put(("always_fails", timer.schedule_status["Last"], timer.past_due))
    raise RuntimeError("a failing timer must not stop the host")


FUNCTIONS = {f.name: f for f in discover(app)}
EVERY_SECOND = {"DEVHOST_TICK_SCHEDULE": "*/1 * * * * *"}


@pytest.fixture
def lock_blobs(storage_connection, unique_name) -> Iterator[None]:
    """Deletes the test's lock blobs (``locks/<host id>/...``); ask for it before start_host."""
    fired.queue.clear()
    yield
    container = BlobServiceClient.from_connection_string(storage_connection).get_container_client(
        LOCK_CONTAINER
    )
    for blob in container.list_blobs(name_starts_with=f"locks/{unique_name}/"):
        container.delete_blob(blob.name)


def _collect(seconds: float) -> list[tuple[str, str, bool]]:
    time.sleep(seconds)
    events = []
    while not fired.empty():
        events.append(fired.get_nowait())
    return events


def test_a_seconds_schedule_fires_every_second_on_the_second(lock_blobs, start_host):
    start_host([FUNCTIONS["tick"]], EVERY_SECOND)
    events = _collect(3.5)
    lasts = [datetime.fromisoformat(last) for name, last, _ in events if name == "tick"]
    assert 2 <= len(lasts) <= 4
    assert all(last.microsecond == 0 and last.utcoffset().total_seconds() == 0 for last in lasts)
    assert [(b - a).total_seconds() for a, b in zip(lasts, lasts[1:], strict=False)] == [1.0] * (
        len(lasts) - 1
    )
    assert not any(past_due for *_, past_due in events)


def test_run_on_startup_fires_once_with_a_context(lock_blobs, start_host):
    start_host([FUNCTIONS["at_startup"]])
    events = _collect(1.5)
    assert [(name, past_due) for name, _, past_due in events] == [("at_startup", False)]


def test_a_failing_timer_keeps_firing(lock_blobs, start_host):
    host = start_host([FUNCTIONS["always_fails"]])
    events = _collect(2.5)
    assert len(events) >= 2
    assert host.timers[0].running


def test_two_hosts_on_one_storage_fire_once_and_hand_over_on_stop(lock_blobs, start_host):
    first = start_host([FUNCTIONS["tick"]], EVERY_SECOND)
    second = start_host([FUNCTIONS["tick"]], EVERY_SECOND)
    assert first.timers[0].holds_lease
    assert not second.timers[0].holds_lease

    lasts = [last for _, last, _ in _collect(3.5)]
    assert len(lasts) >= 3
    assert len(lasts) == len(set(lasts)), f"an occurrence fired twice: {lasts}"

    first.stop(grace_seconds=2)  # releases the lease; the second takes it on its next try
    wait_until(lambda: second.timers[0].holds_lease, timeout=RENEW_SECONDS + 5)
    _collect(0)
    lasts = [last for _, last, _ in _collect(2.5)]
    assert len(lasts) >= 2
    assert len(lasts) == len(set(lasts))
