"""Secret masking, one-shot and across streamed chunks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.masking import SecretMasker


@pytest.mark.parametrize(
    ("secrets", "text", "expected"),
    [
        (["hunter2"], "password is hunter2.", "password is ***."),
        (["abc", "abcdef"], "xabcdefx abc", "x***x ***"),
        (["", "s3"], "s3 and s3", "*** and ***"),
        ([], "nothing to hide", "nothing to hide"),
        (["a.b"], "a.b axb", "*** axb"),  # not a regex
        (["tok"], "toktok", "******"),
        (["ab", "bc"], "abc", "***c"),  # leftmost occurrence wins
    ],
)
def test_mask(secrets: list[str], text: str, expected: str) -> None:
    assert SecretMasker(secrets).mask(text) == expected


def test_custom_mask() -> None:
    assert SecretMasker(["key"], mask="[hidden]").mask("a key") == "a [hidden]"


@pytest.mark.parametrize(
    ("chunks", "expected_feeds"),
    [
        (["my sec", "ret!"], ["my ", "***!"]),
        (["s", "e", "c", "r", "e", "t"], ["", "", "", "", "", "***"]),
        (["no match here"], ["no match here"]),
        (["ends with se"], ["ends with "]),
    ],
)
def test_feed_holds_back_only_a_possible_secret_start(
    chunks: list[str], expected_feeds: list[str]
) -> None:
    masker = SecretMasker(["secret"])
    assert [masker.feed(chunk) for chunk in chunks] == expected_feeds


def test_flush_emits_the_held_back_tail_and_resets() -> None:
    masker = SecretMasker(["secret"])
    assert masker.feed("the sec") == "the "
    assert masker.flush() == "sec"
    assert masker.feed("ret") == "ret"


def test_longer_secret_wins_when_it_completes_in_a_later_chunk() -> None:
    masker = SecretMasker(["ab", "abcd"])
    assert masker.feed("xab") == "x"  # "ab" could still become "abcd"
    assert masker.feed("cd y") == "*** y"


_alphabet = st.sampled_from("abc\n")
_secrets = st.lists(st.text(_alphabet, max_size=5), max_size=4)


@given(_secrets, st.text(_alphabet, max_size=40), st.data())
def test_streaming_equals_one_shot_and_hides_every_secret(
    secrets: list[str], text: str, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    streaming = SecretMasker(secrets)
    streamed = "".join(streaming.feed(chunk) for chunk in chunks) + streaming.flush()
    assert streamed == SecretMasker(secrets).mask(text)
    assert not any(secret and secret in streamed for secret in secrets)


def test_a_masker_extended_mid_stream_masks_the_new_secret_and_keeps_the_old():
    masker = SecretMasker(["old-secret"])
    first = masker.feed("a old-sec")  # held back: it may be the old secret
    masker = masker.extended(["new-secret"])
    rest = masker.feed("ret b new-") + masker.feed("secret c old-sec") + masker.feed("ret d")
    assert first + rest + masker.flush() == "a *** b *** c *** d"
