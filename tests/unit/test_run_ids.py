import pytest

from shared.errors import NotFound
from shared.run_ids import format_run_id, parse_run_id, row_key_for


@pytest.mark.parametrize(
    ("sequence", "run_id"),
    [(1, "dd1"), (9, "dd9"), (10, "dda"), (35, "ddz"), (36, "dd10"), (36**4, "dd10000")],
)
def test_ids_are_short_base36_and_round_trip(sequence, run_id):
    assert format_run_id(sequence) == run_id
    assert parse_run_id(run_id) == sequence


@pytest.mark.parametrize(
    "bad", ["", "dd", "dd0", "dd01", "xx1", "dd-1", "DD1", "ddA", "dd" + "z" * 9]
)
def test_anything_else_is_not_found(bad):
    with pytest.raises(NotFound):
        parse_run_id(bad)


def test_row_keys_sort_newest_first():
    keys = [row_key_for(n) for n in (1, 2, 10, 36, 1000, 10**9)]
    assert keys == sorted(keys, reverse=True)
    assert len({len(key) for key in keys}) == 1


def test_ids_are_valid_image_tags():
    import re

    for n in (1, 35, 36, 99999, 36**6):
        assert re.fullmatch(r"[a-z0-9]{1,128}", format_run_id(n))
