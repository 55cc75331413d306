"""Release gates: checks a release must pass before it is promoted.

Registry offers the hook; apps above it (governance) register their own gates at start-up,
because a lower app never imports a higher one. A gate takes the release and the person
promoting it and returns what stands in the way, as sentences; an empty list lets it through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import DataClassification

if TYPE_CHECKING:
    from apps.accounts.models import User

    from .models import Release


Gate = Callable[["Release", "User | None"], list[str]]


@dataclass(frozen=True)
class RegisteredGate:
    name: str
    check: Gate


_gates: dict[str, RegisteredGate] = {}


def register(name: str, check: Gate) -> None:
    """Register (or replace) a gate by name; apps call this from ``AppConfig.ready``."""
    _gates[name] = RegisteredGate(name, check)


def registered() -> list[RegisteredGate]:
    return list(_gates.values())


_suspended = threading.local()


@contextmanager
def suspended() -> Iterator[None]:
    """Load history without gates: releases promoted in the past, before the rules that gate
    them today (demo data, an import from another registry). Never used by pages, API or tasks."""
    _suspended.active = True
    try:
        yield
    finally:
        _suspended.active = False


def problems(release: Release, actor: User | None) -> list[str]:
    if getattr(_suspended, "active", False):
        return []
    found: list[str] = []
    for gate in _gates.values():
        found.extend(gate.check(release, actor))
    return found


def models_approved_for_data(release: Release, actor: User | None) -> list[str]:
    """Every model in the release is approved (or approved with conditions) and cleared for the
    workload's data classification."""
    workload = release.workload
    label = DataClassification(workload.data_classification).label.lower()
    found = []
    for model in release.ai_models.all():
        if not model.is_usable:
            found.append(f"{model.display_name} is {model.get_approval_status_display().lower()}, not approved.")
        elif not model.clears(workload.data_classification):
            found.append(
                f"{model.display_name} is cleared for {model.get_max_data_classification_display().lower()} data "
                f"only; {workload.name} handles {label} data."
            )
    return found


def register_builtin_gates() -> None:
    register("models-approved-for-data", models_approved_for_data)
