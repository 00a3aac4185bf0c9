"""Order statistics for benchmark samples. Pure: numbers in, numbers out.

Noisy machines call for medians and percentiles rather than means, and for
ratios of measurements taken side by side rather than absolute times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), interpolating linearly between the two
    nearest ranks (numpy's default), so p50 of an even count is the mean of the
    middle two."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0 and 100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Pairwise ``numerators[i] / denominators[i]``, for measurements taken side by side."""
    if len(numerators) != len(denominators):
        raise ValueError(f"{len(numerators)} numerators for {len(denominators)} denominators")
    if any(value <= 0 for value in denominators):
        raise ValueError("a denominator is not positive")
    return [top / bottom for top, bottom in zip(numerators, denominators, strict=True)]


@dataclass(frozen=True)
class Summary:
    count: int
    minimum: float
    p50: float
    p95: float
    p99: float
    maximum: float
    mean: float


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("summary of no values")
    return Summary(
        count=len(values),
        minimum=min(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        maximum=max(values),
        mean=sum(values) / len(values),
    )
