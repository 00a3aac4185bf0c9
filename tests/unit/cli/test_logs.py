"""Following a log: offsets, split UTF-8, the end condition and retries (no HTTP)."""

from __future__ import annotations

import io

import pytest

from cli.api import ApiError, LogChunk
from cli.logs import MAX_TRANSIENT_FAILURES, stream_log


class ScriptedLog:
    """Answers each read with the next scripted (bytes, status) or an exception."""

    def __init__(self, script: list[tuple[bytes, str] | Exception]) -> None:
        self.script = list(script)
        self.offsets: list[int] = []
        self._written = 0

    def read_log(self, run_id: str, offset: int) -> LogChunk:
        self.offsets.append(offset)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        data, status = step
        self._written += len(data)
        return LogChunk(data=data, next_offset=offset + len(data), run_status=status)


def follow(script, **kwargs) -> tuple[str, str | None, ScriptedLog]:
    source = ScriptedLog(script)
    out = io.StringIO()
    sleeps: list[float] = []
    status = stream_log(source, "ca1", out, sleep=sleeps.append, **kwargs)
    assert not source.script, "stopped before the script ended"
    return out.getvalue(), status, source


def test_streams_until_finished_and_a_read_brings_nothing() -> None:
    text, status, source = follow(
        [
            (b"", "Queued"),
            (b"step 1\n", "Running"),
            (b"", "Running"),
            (b"step 2\n", "Succeeded"),
            (b"last line\n", "Succeeded"),
            (b"", "Succeeded"),
        ]
    )
    assert text == "step 1\nstep 2\nlast line\n"
    assert status == "Succeeded"
    assert source.offsets == [0, 0, 7, 7, 14, 24]


def test_a_multibyte_character_split_across_reads_is_written_whole() -> None:
    snowman = "☃".encode()
    text, _, _ = follow(
        [(b"a" + snowman[:1], "Running"), (snowman[1:] + b"b", "Running"), (b"", "Failed")]
    )
    assert text == "a☃b"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    text, _, _ = follow([(b"ok \xff\n", "Failed"), (b"", "Failed")])
    assert text == "ok \ufffd\n"


def test_no_follow_stops_at_the_end_of_what_is_written() -> None:
    text, status, _ = follow([(b"so far\n", "Running"), (b"", "Running")], follow=False)
    assert (text, status) == ("so far\n", "Running")


def test_transient_failures_are_retried() -> None:
    text, status, _ = follow(
        [ApiError("refused"), ApiError("bad gateway", 502), (b"x", "Error"), (b"", "Error")]
    )
    assert (text, status) == ("x", "Error")


def test_a_4xx_answer_is_not_retried() -> None:
    with pytest.raises(ApiError, match="unknown run"):
        follow([ApiError("unknown run", 404)])


def test_gives_up_after_too_many_transient_failures() -> None:
    with pytest.raises(ApiError):
        follow([ApiError("refused")] * (MAX_TRANSIENT_FAILURES + 1))
