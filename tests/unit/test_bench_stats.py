import pytest

from bench.stats import median, percentile, ratios, summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 0, 5.0),
        ([5.0], 99, 5.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 100, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 25, 2.0),
        ([0.0, 10.0], 95, 9.5),
        (list(range(1, 101)), 99, 99.01),
    ],
)
def test_percentile_interpolates_between_nearest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_leaves_its_input_unsorted():
    values = [3.0, 1.0, 2.0]
    percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_refuses_what_has_no_answer(values, q):
    with pytest.raises(ValueError):
        percentile(values, q)


@pytest.mark.parametrize(
    ("values", "expected"), [([7.0], 7.0), ([1.0, 9.0, 2.0], 2.0), ([1.0, 2.0, 3.0, 10.0], 2.5)]
)
def test_median(values, expected):
    assert median(values) == expected


def test_ratios_are_pairwise():
    assert ratios([3.3, 2.0], [3.0, 4.0]) == pytest.approx([1.1, 0.5])


@pytest.mark.parametrize(("tops", "bottoms"), [([1.0], [1.0, 2.0]), ([1.0], [0.0])])
def test_ratios_refuse_unpaired_or_zero_denominators(tops, bottoms):
    with pytest.raises(ValueError):
        ratios(tops, bottoms)


def test_summary():
    summary = summarize([4.0, 1.0, 3.0, 2.0])
    assert (summary.count, summary.minimum, summary.maximum) == (4, 1.0, 4.0)
    assert summary.p50 == 2.5
    assert summary.mean == 2.5
    assert summary.p95 == pytest.approx(3.85)
    assert summary.p99 == pytest.approx(3.97)


def test_summary_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        summarize([])
