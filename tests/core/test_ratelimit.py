"""``apps.core.ratelimit``: a sliding window estimated from two fixed ones, counted atomically in the shared
cache (Redis in CI's second run, the local memory cache in the first)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from apps.core import ratelimit
from apps.core.api.throttling import PersonThrottle
from tests.core.test_api_hardening import rates

START = 6_000_000.0  # the start of a one-minute window


@pytest.fixture(autouse=True)
def _clean_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def test_the_limit_holds_within_a_window_and_a_refused_request_is_not_counted() -> None:
    assert [ratelimit.hit("k", limit=3, now=START + i) for i in range(3)] == [None, None, None]
    # Over: wait until, 20 s into the next window, this one's three weigh two: 2 + 1 fits.
    assert ratelimit.hit("k", limit=3, now=START + 3) == 77
    assert ratelimit.hit("k", limit=3, now=START + 4) == 76  # the refused one did not count
    assert cache.get(f"k:{int(START // 60)}") == 3


def test_a_burst_at_a_windows_edge_gets_no_fresh_allowance() -> None:
    assert [ratelimit.hit("k", limit=3, now=START + 59 + i / 10) for i in range(3)] == [None, None, None]
    # A fixed window would start again from zero here; the previous one still weighs almost all of it.
    assert ratelimit.hit("k", limit=3, now=START + 60.5) == 20
    assert ratelimit.hit("k", limit=3, now=START + 80) is None  # 3 × ⅔ + 1
    assert ratelimit.hit("k", limit=3, now=START + 80.1) is not None


def test_an_idle_window_clears_the_count_and_keys_are_apart() -> None:
    for i in range(3):
        ratelimit.hit("k", limit=3, now=START + i)
    assert ratelimit.hit("other", limit=3, now=START + 5) is None
    assert [ratelimit.hit("k", limit=3, now=START + 120 + i) for i in range(3)] == [None, None, None]


def test_the_wait_given_is_when_a_request_fits_again() -> None:
    for i in range(5):
        ratelimit.hit("k", limit=5, now=START + 30 + i)
    moment = START + 70
    wait = ratelimit.hit("k", limit=5, now=moment)
    assert wait is not None
    assert ratelimit.hit("k", limit=5, now=moment + wait - 1) is not None
    assert ratelimit.hit("k", limit=5, now=moment + wait) is None


def test_requests_racing_each_other_never_pass_the_limit(team_member) -> None:  # type: ignore[no-untyped-def]
    """Forty requests at once from eight threads, as from several web processes: ten pass, exactly. (DRF's
    own throttle reads the list of times and writes it back: racing requests each see room.)"""
    request, view = SimpleNamespace(user=team_member), SimpleNamespace()
    with rates(person="10/min"), ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(lambda _: PersonThrottle().allow_request(request, view), range(40)))
    assert allowed.count(True) == 10
