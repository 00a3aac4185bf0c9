"""The line a run's log ends an attempt with when a transient fault stopped it."""

import pytest

from builder.run_lifecycle import MAX_ATTEMPTS, retry_note

REASON = "the Docker Engine stopped during the build (exit code 137)"


@pytest.mark.parametrize(
    ("attempt", "then"),
    [
        (1, "the run will be retried once its lease lapses"),
        (MAX_ATTEMPTS - 1, "the run will be retried once its lease lapses"),
        (MAX_ATTEMPTS, f"that was the last of {MAX_ATTEMPTS} attempts"),
    ],
)
def test_the_note_names_the_attempt_the_reason_and_what_happens_next(attempt, then):
    assert retry_note(attempt, REASON) == f"attempt {attempt} stopped: {REASON}; {then}"
