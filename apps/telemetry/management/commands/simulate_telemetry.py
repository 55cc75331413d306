"""``manage.py simulate_telemetry``: the demo workloads' live telemetry, sent to a running portal
(``apps/telemetry/simulator.py``). ``make run`` starts it next to web, worker and beat."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Send the demo workloads' telemetry to a running portal through its real endpoints (OTLP by the "
        "OpenTelemetry SDK, and the native JSON API), round after round, until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The portal's address.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between rounds (default 5).")
        parser.add_argument("--once", action="store_true", help="Send one round, then stop.")
        parser.add_argument(
            "--calls", type=int, default=None,
            help="Send this many calls per workload each round, instead of the workloads' daily rhythm.",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here: the OpenTelemetry SDK and exporter are development dependencies.
        from apps.telemetry.simulator import NothingToSimulate, Simulator

        if options["interval"] <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        if options["calls"] is not None and options["calls"] < 1:
            raise CommandError("--calls must be at least 1.")
        stop = threading.Event()

        def log(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            simulator = Simulator(
                url=options["url"], interval=options["interval"], calls=options["calls"], log=log, stop=stop
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: stop.set())
        try:
            simulator.run(once=options["once"])
        except NothingToSimulate as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
