from datetime import UTC, datetime, timedelta

import pytest

from shared.deliveries import STALE_CLAIM, delivery_key, once_per_delivery
from shared.errors import TransientError
from tests.support.task_fakes import FakeDeliveryStore

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_keys_are_table_safe():
    assert delivery_key("github", "72d3162e-cc78-11e3", b"") == "github-72d3162e-cc78-11e3"
    hashed = delivery_key("gitlab", "a/b#c", b"")
    assert hashed.startswith("gitlab-sha256-") and "/" not in hashed
    assert delivery_key("gitea", None, b"body") == delivery_key("gitea", None, b"body")
    assert delivery_key("gitea", None, b"body") != delivery_key("gitea", None, b"other")


def test_the_first_answer_is_stored_and_repeated():
    store, calls = FakeDeliveryStore(), []
    work = lambda: calls.append(1) or (202, {"runs": ["dd1"]})  # noqa: E731
    assert once_per_delivery("k", store, NOW, work, lambda s: None) == (202, {"runs": ["dd1"]})
    assert once_per_delivery("k", store, NOW, work, lambda s: None) == (202, {"runs": ["dd1"]})
    assert calls == [1]


def test_a_copy_waits_then_gives_a_transient_error_if_the_first_is_still_busy():
    store = FakeDeliveryStore()
    store.insert("k", NOW)
    with pytest.raises(TransientError):
        once_per_delivery("k", store, NOW, lambda: (200, {"runs": []}), lambda s: None)


def test_an_abandoned_claim_is_retaken():
    store = FakeDeliveryStore()
    store.insert("k", NOW)
    later = NOW + STALE_CLAIM + timedelta(seconds=1)
    answer = once_per_delivery("k", store, later, lambda: (202, {"runs": ["dd2"]}), lambda s: None)
    assert answer == (202, {"runs": ["dd2"]})
