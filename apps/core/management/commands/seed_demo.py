"""Load demo data: every app's ``demo.seed()``, lower apps first. Safe to run twice."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load the demo data of every app (idempotent) and print the demo sign-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        sign_ins: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for config in apps.get_app_configs():
                if not config.name.startswith("apps."):
                    continue
                try:
                    module = import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                result = module.seed()
                sign_ins.extend(result or [])
                self.stdout.write(f"  demo data: {config.label}")
        if sign_ins:
            self.stdout.write(self.style.SUCCESS("\nDemo sign-ins (user, password, persona):"))
            for username, password, who in sign_ins:
                self.stdout.write(f"  {username:<10} {password:<16} {who}")
