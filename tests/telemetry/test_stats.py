"""The statistics behind scoring: histogram percentiles, PSI, robust z-scores."""

from __future__ import annotations

import random

import pytest

from apps.telemetry import stats
from apps.telemetry.models import LATENCY_BUCKETS, latency_bucket, latency_bucket_bounds


def _hist(values):  # type: ignore[no-untyped-def]
    hist = [0] * LATENCY_BUCKETS
    for v in values:
        hist[latency_bucket(v)] += 1
    return hist


def test_buckets_are_log_spaced_and_contiguous():
    assert latency_bucket(0.2) == 0
    assert latency_bucket(1.0) == 1
    for index in range(1, LATENCY_BUCKETS - 1):
        low, high = latency_bucket_bounds(index)
        assert latency_bucket(low * 1.0001) == index
        assert high / low == pytest.approx(2**0.25)
    assert latency_bucket(10**9) == LATENCY_BUCKETS - 1


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_percentiles_from_the_histogram_are_within_a_bucket(q):
    rng = random.Random(3)
    values = sorted(rng.lognormvariate(6.5, 0.6) for _ in range(5000))
    exact = values[int(q * len(values)) - 1]
    assert stats.percentile(_hist(values), q) == pytest.approx(exact, rel=0.1)


def test_an_empty_histogram_has_no_percentile():
    assert stats.percentile([0] * LATENCY_BUCKETS, 0.95) is None


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = random.Random(5)
    base = _hist(rng.lognormvariate(6.5, 0.4) for _ in range(3000))
    same = _hist(rng.lognormvariate(6.5, 0.4) for _ in range(3000))
    slower = _hist(rng.lognormvariate(7.3, 0.4) for _ in range(3000))
    assert stats.psi(stats.coarsen(same, 4), stats.coarsen(base, 4)) < stats.PSI_MODERATE
    assert stats.psi(stats.coarsen(slower, 4), stats.coarsen(base, 4)) > stats.PSI_SIGNIFICANT
    assert stats.psi([0, 0], [1, 2]) is None


def test_robust_z_flags_outliers_and_has_a_floor():
    history = [100, 102, 98, 101, 99, 100, 103, 97]
    z, centre, _ = stats.robust_z(180, history, floor=1)
    assert centre == 100
    assert z > stats.Z_THRESHOLD
    assert abs(stats.robust_z(104, history, floor=1)[0]) < stats.Z_THRESHOLD
    flat = [0.0] * 10
    assert abs(stats.robust_z(0.001, flat, floor=0.005)[0]) < stats.Z_THRESHOLD  # the floor keeps calm
