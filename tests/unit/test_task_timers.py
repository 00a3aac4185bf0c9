import json
from datetime import UTC, datetime, timedelta

from shared.runs import Trigger
from shared.task_parsing import parse_task
from shared.task_timers import due_timers, fire_due_timers
from tests.support.task_fakes import FakeFiringStore, FakeRunStore, fake_submission

CREATED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def task(name="nightly-app", timers=None, **body):
    body = {"context": "https://h.example/o/app.git", "images": ["app:{{.Run.Date}}"], **body}
    body["triggers"] = {"timers": timers or [{"name": "hourly", "schedule": "0 * * * *"}]}
    return parse_task(name, json.dumps(body).encode(), None, CREATED, "localhost:5000")


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second, tzinfo=UTC)


def test_an_occurrence_starts_one_timer_run_even_with_two_hosts():
    runs, firings = FakeRunStore(), FakeFiringStore()
    tasks = [task()]
    host_a = fire_due_timers(tasks, firings, fake_submission(runs), at(10, 0, 3))
    host_b = fire_due_timers(tasks, firings, fake_submission(runs), at(10, 0, 4))
    later_tick = fire_due_timers(tasks, firings, fake_submission(runs), at(10, 0, 13))
    assert len(host_a) == 1 and host_b == [] and later_tick == []
    (run,) = runs.all
    assert (run.trigger, run.task, run.images[0].tag) == (Trigger.TIMER, "nightly-app",
                                                           "20240501-100003z")  # fmt: skip


def test_after_downtime_a_missed_occurrence_fires_once():
    runs, firings = FakeRunStore(), FakeFiringStore()
    tasks = [task()]
    fire_due_timers(tasks, firings, fake_submission(runs), at(10))
    # Down from 10:00:10 to 15:30: 11:00…15:00 were missed; 15:00 fires, once.
    ticks = [at(15, 30) + timedelta(seconds=s) for s in (0, 10, 20)]
    started = [fire_due_timers(tasks, firings, fake_submission(runs), tick) for tick in ticks]
    assert [len(batch) for batch in started] == [1, 0, 0]
    assert len(runs.all) == 2


def test_nothing_fires_for_occurrences_before_the_task_was_written():
    assert due_timers([task()], at(9, 59)) == []
    assert len(due_timers([task()], at(10))) == 1


def test_disabled_timers_and_tasks_never_fire():
    off = task(timers=[{"name": "hourly", "schedule": "0 * * * *", "enabled": False}])
    disabled = task("disabled-app", status="Disabled")
    assert due_timers([off, disabled], at(12)) == []


def test_seconds_schedules_and_several_timers():
    timers = [
        {"name": "fast", "schedule": "*/30 * * * * *"},
        {"name": "daily", "schedule": "0 2 * * *"},
    ]
    due = due_timers([task(timers=timers)], at(9, 31, 5))
    assert [(timer.name, occurrence) for _, timer, occurrence in due] == [("fast", at(9, 31))]
