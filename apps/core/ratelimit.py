"""Rate limits counted in the shared cache (Redis when ``REDIS_URL`` is set, so every web process counts
together), atomically: each request is one ``incr`` of a counter, never a read then a write that two
processes could interleave.

A sliding window estimated from two fixed ones (the "sliding window counter"): the current window's
count plus the previous window's, weighted by how much of it still lies within the last ``seconds``. A
burst at a window's edge therefore does not get a fresh allowance, and an idle minute clears it. A
refused request is taken back off the count: it does not use the allowance up.
"""

from __future__ import annotations

import contextlib
import math
import time

from django.core.cache import cache


def _incr(name: str, timeout: int) -> int:
    try:  # the window's counter exists but for its first request: one call, not two
        return cache.incr(name)
    except ValueError:
        if cache.add(name, 1, timeout=timeout):
            return 1
        try:  # another request started the window meanwhile
            return cache.incr(name)
        except ValueError:  # and it expired already
            cache.set(name, 1, timeout=timeout)
            return 1


def _wait(previous: int, count: int, limit: int, seconds: int, elapsed: float) -> int:
    """Seconds until one more request fits, if no other comes: ``count`` counted in this window, ``previous``
    in the one before, ``elapsed`` seconds into this one."""
    room = limit - 1 - count
    if room >= 0 and previous:  # within this window, as the previous one's weight falls
        return max(1, math.ceil(seconds * (1 - room / previous) - elapsed))
    # In the next window, as this one's weight falls (at the latest, the window after: nothing left).
    return max(1, math.ceil(seconds - elapsed + seconds * (1 - (limit - 1) / count)))


def hit(key: str, *, limit: int, seconds: int = 60, now: float | None = None) -> int | None:
    """Count one request for ``key`` against ``limit`` per ``seconds``. None when it is within the limit,
    else the seconds to wait (for ``Retry-After``)."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    name = f"{key}:{window}"
    count = _incr(name, timeout=2 * seconds + 30)  # kept through the next window, where it is the previous
    previous = cache.get(f"{key}:{window - 1}", 0)
    elapsed = now - window * seconds
    if previous * (1 - elapsed / seconds) + count <= limit:
        return None
    with contextlib.suppress(ValueError):  # ValueError: expired meanwhile, nothing to take back
        cache.decr(name)  # refused: not counted
    return _wait(previous, count - 1, limit, seconds, elapsed)
