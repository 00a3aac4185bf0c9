import base64
from datetime import UTC, datetime, timedelta

import pytest

from devhost.queue_listener import (
    MAX_POLL_SECONDS,
    MIN_POLL_SECONDS,
    decode_body,
    next_poll_delay,
)
from devhost.timers import timer_request


def test_poll_delay_doubles_to_the_cap_and_resets_on_a_message():
    delays = [MIN_POLL_SECONDS]
    for _ in range(8):
        delays.append(next_poll_delay(delays[-1], found_messages=False))
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == MAX_POLL_SECONDS
    assert next_poll_delay(MAX_POLL_SECONDS, found_messages=True) == MIN_POLL_SECONDS


def test_decode_body_gives_the_original_bytes():
    payload = b'{"run": 1}\x00\xff'
    assert decode_body(base64.b64encode(payload).decode()) == payload


@pytest.mark.parametrize("content", ["not base64!", "abc"])
def test_decode_body_refuses_text_that_is_not_base64(content):
    with pytest.raises(ValueError):
        decode_body(content)


@pytest.mark.parametrize(("late_seconds", "past_due"), [(0, False), (4.9, False), (6, True)])
def test_timer_request_is_past_due_when_late(late_seconds, past_due):
    scheduled = datetime(2024, 1, 1, tzinfo=UTC)
    following = scheduled + timedelta(minutes=5)
    request = timer_request(scheduled, following, scheduled + timedelta(seconds=late_seconds))
    assert request.past_due is past_due
    assert request.schedule_status["Last"] == scheduled.isoformat()
    assert request.schedule_status["Next"] == following.isoformat()
