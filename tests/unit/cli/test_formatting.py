"""Run outcomes, durations, the runs table and where the CLI finds its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.follow import describe_outcome
from cli.formatting import format_clock_duration, format_short_duration, runs_table
from cli.settings import resolve_settings

START, FINISH = "2024-05-01T10:00:00Z", "2024-05-01T10:01:05.1234567Z"


@pytest.mark.parametrize(
    ("run", "message", "code"),
    [
        (
            {"runId": "ca1", "status": "Succeeded", "startTime": START, "finishTime": FINISH},
            "Run ID: ca1 was successful after 1m5s",
            0,
        ),
        (
            {"runId": "ca2", "status": "Failed", "error": "step build: exit 1"},
            "Run ID: ca2 failed: step build: exit 1",
            1,
        ),
        ({"runId": "ca3", "status": "Timeout"}, "Run ID: ca3 failed with status Timeout", 1),
        ({"runId": "ca4", "status": "Canceled"}, "Run ID: ca4 was canceled", 1),
        (
            {"runId": "ca5", "status": "Error", "error": "no agent"},
            "Run ID: ca5 failed: no agent",
            1,
        ),
    ],
)
def test_describe_outcome(run: dict, message: str, code: int) -> None:
    assert describe_outcome(run) == (message, code)


@pytest.mark.parametrize(
    ("seconds", "short", "clock"),
    [(0, "0s", "00:00:00"), (12, "12s", "00:00:12"), (3603, "1h0m3s", "01:00:03")],
)
def test_durations(seconds: int, short: str, clock: str) -> None:
    assert format_short_duration(seconds) == short
    assert format_clock_duration(seconds) == clock


def test_runs_table() -> None:
    table = runs_table(
        [
            {
                "runId": "ca2",
                "task": "hello",
                "status": "Running",
                "trigger": "Commit",
                "createTime": "2024-05-01T09:59:58Z",
                "startTime": START,
            },
            {
                "runId": "ca1",
                "task": None,
                "status": "Succeeded",
                "trigger": "Manual",
                "startTime": START,
                "finishTime": FINISH,
            },
        ]
    )
    assert table.splitlines() == [
        "RUN ID  TASK   PLATFORM  STATUS     TRIGGER  STARTED               DURATION",
        "------  -----  --------  ---------  -------  --------------------  --------",
        "ca2     hello  linux     Running    Commit   2024-05-01T10:00:00Z",
        "ca1            linux     Succeeded  Manual   2024-05-01T10:00:00Z  00:01:05",
    ]


def test_settings_flags_over_environment_over_key_file(tmp_path: Path) -> None:
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "api-key").write_text("from-file\n")
    env = {"DRYDOCK_URL": "http://env:1/", "DRYDOCK_API_KEY": "from-env"}

    assert resolve_settings(None, None, {}, tmp_path).api_key == "from-file"
    assert resolve_settings(None, None, env, tmp_path).api_key == "from-env"
    assert resolve_settings("http://flag:2", "from-flag", env, tmp_path).api_key == "from-flag"
    assert resolve_settings(None, None, env, tmp_path).url == "http://env:1"
    assert resolve_settings(None, None, {}, tmp_path).url == "http://127.0.0.1:7071"
    assert "from-env" not in repr(resolve_settings(None, None, env, tmp_path))
