"""Numeric drift scores read off TFDV's quantile histograms: the shape (Jensen-Shannon on the
baseline's decile bins) and how far values moved (a normalized Wasserstein distance)."""

from __future__ import annotations

from typing import Any


def _quantile_buckets(num_stats: Any) -> list[tuple[float, float]] | None:
    for histogram in num_stats.histograms:
        if histogram.type == histogram.QUANTILES and histogram.buckets:
            return [(b.low_value, b.high_value) for b in histogram.buckets]
    return None


def _cdf(buckets: list[tuple[float, float]], x: float) -> float:
    """P(X <= x) implied by a quantiles histogram: equal mass per bucket, spread evenly inside
    a bucket, all of it at one point for a bucket of zero width (ties, e.g. many zeros)."""
    total = 0.0
    for low, high in buckets:
        if x >= high:
            total += 1.0
        elif x > low:
            total += (x - low) / (high - low)
    return total / len(buckets)


def quantile_js(current: Any, baseline: Any) -> float | None:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of a numeric feature, over bins cut at the
    baseline's quantiles (plus both tails). Unlike TFDV's equal-width histograms, whose bins move
    with the min and max, this is stable under outliers and handles heavy ties."""
    import math

    base, cur = _quantile_buckets(baseline), _quantile_buckets(current)
    if base is None or cur is None:
        return None
    cuts = sorted({v for bucket in base for v in bucket})
    points = [-math.inf, *cuts, math.inf]

    def masses(buckets: list[tuple[float, float]]) -> list[float]:
        cdf = [
            0.0 if x == -math.inf else 1.0 if x == math.inf else _cdf(buckets, x) for x in points
        ]
        return [max(b - a, 0.0) for a, b in zip(cdf, cdf[1:], strict=False)]

    eps = 1e-6
    p = [(v + eps) / (1 + eps * (len(points) - 1)) for v in masses(base)]
    q = [(v + eps) / (1 + eps * (len(points) - 1)) for v in masses(cur)]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a: list[float], b: list[float]) -> float:
        return sum(x * math.log2(x / y) for x, y in zip(a, b, strict=True) if x > 0)

    return max(0.0, min(1.0, (kl(p, m) + kl(q, m)) / 2))


def _quantile_function(buckets: list[tuple[float, float]], points: int) -> list[float]:
    """The value at each of ``points`` evenly spaced probabilities (bucket midpoints), read off a
    quantiles histogram (equal mass per bucket, linear inside one)."""
    n = len(buckets)
    out = []
    for i in range(points):
        where = (i + 0.5) / points * n
        low, high = buckets[min(int(where), n - 1)]
        out.append(low + (high - low) * (where - min(int(where), n - 1)))
    return out


def quantile_shift(current: Any, baseline: Any, points: int = 1000) -> float | None:
    """How far values moved: the Wasserstein-1 distance between the two distributions over
    their inner 80 % (the mean gap between their quantile functions from the 10th to the 90th
    percentile), in units of the baseline's spread there (its mean distance from its median).
    0 for the same distribution; 1 when values moved on average by as much as they typically
    lie from the median. Unlike Jensen-Shannon it grows with the distance moved, so a scale or
    location shift that keeps the shape (every fare x 2.5) scores high. The outer deciles are
    left out: they reach the span's min and max, where one outlier would dominate. None where
    the baseline has no spread there (mostly one value: Jensen-Shannon scores such a column)."""
    base, cur = _quantile_buckets(baseline), _quantile_buckets(current)
    if base is None or cur is None:
        return None
    low, high = points // 10, points - points // 10
    qb = _quantile_function(base, points)[low:high]
    qc = _quantile_function(cur, points)[low:high]
    median = _quantile_function(base, 1)[0]
    spread = sum(abs(v - median) for v in qb) / len(qb)
    if spread <= 0:
        return None
    return sum(abs(a - b) for a, b in zip(qb, qc, strict=True)) / len(qb) / spread


def disjoint(current: Any, baseline: Any) -> bool:
    """Whether a numeric column's values in one span all lie outside the other's range."""
    if not (current.common_stats.num_non_missing and baseline.common_stats.num_non_missing):
        return False
    return current.min > baseline.max or current.max < baseline.min
