"""Transaction-scoped locks for rebuilds that replace a whole table's rows: two at once take turns instead
of both deleting and inserting. PostgreSQL advisory locks (``pg_advisory_xact_lock``), released when the
transaction ends; SQLite lets one writer at a time anyway, so there it is nothing.

The keys live here, one per rebuild, so that two never share one by accident.
"""

from __future__ import annotations

from django.db import connection

KEYS = {
    "telemetry.category-rollups": 0x434F45_0001,
    "governance.compliance-scores": 0x434F45_0002,
}


def hold(name: str) -> None:
    """Wait for and take the lock ``name`` (one of ``KEYS``) until the current transaction ends."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [KEYS[name]])
