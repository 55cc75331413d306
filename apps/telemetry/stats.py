"""The statistics scoring uses, as plain functions over histograms and lists.

- Percentiles come from the merged log-spaced latency histogram: find the bucket where the rank
  falls and interpolate geometrically inside it (linearly in bucket 0). Error ≤ a bucket's width
  (~19 %), usually far less.
- Anomalies: the robust z-score of Iglewicz and Hoaglin, z = (x − median) / (1.4826 · MAD), over the
  workload's own previous days; |z| ≥ 3.5 in the harmful direction is an anomaly. The scale has a
  floor (5 % of the median, or a per-metric minimum) so a perfectly flat history does not turn a
  tiny wobble into an alarm.
- Drift: the population stability index, PSI = Σ (pᵢ − qᵢ) · ln(pᵢ / qᵢ), between the current
  day's distribution and the release's baseline, with ε = 10⁻⁴ for empty buckets. Latency uses
  the histogram coarsened to one bucket per doubling. Conventional reading: < 0.1 stable,
  0.1–0.25 moderate shift, ≥ 0.25 significant drift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

from .models import latency_bucket_bounds

Z_THRESHOLD = 3.5
PSI_EPSILON = 1e-4
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25


def merge(histograms: Sequence[Sequence[int]], size: int) -> list[int]:
    total = [0] * size
    for hist in histograms:
        for index, count in enumerate(hist[:size]):
            total[index] += count
    return total


def percentile(hist: Sequence[int], q: float) -> float | None:
    """The q-th quantile (0 < q < 1) of a latency histogram, in ms; None if it is empty."""
    total = sum(hist)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(hist):
        if count and seen + count >= rank:
            fraction = (rank - seen) / count
            low, high = latency_bucket_bounds(index)
            if index == 0:
                return low + (high - low) * fraction
            return low * (high / low) ** fraction
        seen += count
    return latency_bucket_bounds(len(hist) - 1)[1]


def coarsen(hist: Sequence[int], factor: int) -> list[int]:
    return [sum(hist[start : start + factor]) for start in range(0, len(hist), factor)]


def psi(current: Sequence[int], baseline: Sequence[int]) -> float | None:
    """Population stability index of two histograms over the same buckets; None if either is empty."""
    current_total, baseline_total = sum(current), sum(baseline)
    if not current_total or not baseline_total:
        return None
    value = 0.0
    for c, b in zip(current, baseline, strict=True):
        p = max(c / current_total, PSI_EPSILON)
        q = max(b / baseline_total, PSI_EPSILON)
        value += (p - q) * math.log(p / q)
    return value


def robust_z(value: float, history: Sequence[float], *, floor: float) -> tuple[float, float, float]:
    """(z, median, scale) of ``value`` against ``history``."""
    centre = median(history)
    mad = median([abs(x - centre) for x in history])
    scale = max(1.4826 * mad, abs(centre) * 0.05, floor)
    return (value - centre) / scale, centre, scale
