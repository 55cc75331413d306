"""gunicorn's configuration file, used by the Dockerfile's CMD, docker-compose's web service and
``manage.py bench_ingest``: ``gunicorn --config coe_portal/gunicorn.py coe_portal.wsgi:application …``.
The command lines keep the bind address, workers, timeout and logs; this file adds what a command
line cannot say.

Python's cyclic garbage collector: a worker holds a few hundred thousand long-lived objects
(Django, DRF, protobuf, the URLconf and every view module), and every full collection walks all
of them, ~70 ms at a time, while an ingestion request makes and drops tens of thousands of small
ones. Once the worker has loaded the application and its URLconf, ``gc.freeze()`` moves what
exists into a permanent generation the collector no longer visits. Garbage made afterwards is
collected as before; what is frozen stays in memory for the worker's life, as it would anyway.
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """After the worker has loaded the WSGI application: import the URLconf (and with it every
    view module), which Django otherwise does on the first request, then freeze what is there."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    gc.collect()
    gc.freeze()
