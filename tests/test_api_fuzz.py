"""Schema-driven fuzzing: every operation of the OpenAPI schema the app serves (``/api/schema/``), sent
requests that Schemathesis makes from the schema itself, through the real WSGI app, signed in with a
personal token: once as CoE staff, once as a team member. Two checks on every answer: no 5xx
(``not_a_server_error``), and the body is what the schema says for that status
(``response_schema_conformance``: the 2xx serializers and the error components of
``apps/core/api/schema.py`` alike).

Path parameters are drawn either from the permission matrix's world (``tests/access.py`` names real
objects for each operation), so detail routes and actions run past their 404, or generated (unknown slugs,
ids past 64 bits). Query parameters and bodies are generated from the schema. Bounded and repeatable:
``MAX_EXAMPLES`` per operation, Hypothesis derandomized, no example database; one world per persona, the
deletions last. Nothing is excluded: ``test_every_operation_is_fuzzed`` fails for an operation of the
schema that is not fuzzed here. The ingestion endpoint is fuzzed with an ingestion key (people's tokens
are refused there, as the matrix checks); ``/v1/traces`` is not in the OpenAPI schema (OTLP's own
protobuf contract): its bad bodies are tests/abuse/test_bad_bodies.py's and tests/telemetry's.

Measured when written (the whole file, 2 cores): about 40 s on SQLite and 1 min on PostgreSQL on a quiet
machine, up to 2 min when the machine is busy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from apps.accounts import services as account_services
from apps.telemetry import services as telemetry_services
from coe_portal.wsgi import application

from .access import API
from .test_permission_matrix import world  # noqa: F401 - the matrix's world, reused as a fixture

MAX_EXAMPLES = 10  # per operation, as CoE staff (who may do the most)
MAX_EXAMPLES_TEAM_MEMBER = 5  # the second pass, mostly refusals and the team's own objects: half, for time
CHECKS = [not_a_server_error, response_schema_conformance]
# Ingestion takes a workload's key, not a person's token: fuzzed with the key of the world's workload.
INGESTION = {"POST /api/v1/telemetry/events"}

# Hypothesis caches what it learns of the code under .hypothesis/ in the working directory: under var/ instead.
set_hypothesis_home_dir(django_settings.VAR_DIR / "hypothesis")

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
LABELS = sorted(OPERATIONS)

pytestmark = pytest.mark.django_db


def test_every_operation_is_fuzzed() -> None:
    """Each schema operation is fuzzed below and has real path parameters in the matrix."""
    assert len(LABELS) > 80
    assert set(LABELS) == set(API), sorted(set(LABELS) ^ set(API))


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The real WSGI app closes the database connection when a request ends; the test's transaction lives on
    it. Django's test client disconnects the same handlers for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(world: SimpleNamespace) -> dict[str, str]:  # noqa: F811 - pytest's fixture by name
    _, staff = account_services.token_create(user=world.coe_staff, name="fuzz")
    _, member = account_services.token_create(user=world.team_member, name="fuzz")
    _, key = telemetry_services.key_create(workload=world.workload, name="fuzz", actor=world.team_member)
    return {"coe_staff": f"Token {staff}", "team_member": f"Token {member}", "key": f"Bearer {key}"}


def _fuzz(label: str, world: SimpleNamespace, authorization: str, max_examples: int, seen: Counter[int]) -> None:  # noqa: F811
    operation = OPERATIONS[label]
    known: dict[str, Any] = API[label].kwargs(world)
    generated = operation.as_strategy()
    strategy = st.one_of(operation.as_strategy(path_parameters=known), generated) if known else generated

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": authorization})
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


def _fuzz_all(world: SimpleNamespace, authorization: str, key: str, max_examples: int) -> dict[str, Counter[int]]:  # noqa: F811
    """Every operation in one world, deletions last so the world's objects are there for the rest; every
    failure collected, so one run names them all."""
    failures: list[str] = []
    answers: dict[str, Counter[int]] = {}
    for label in sorted(LABELS, key=lambda label: (label.startswith("DELETE"), label)):
        answers[label] = Counter()
        try:
            _fuzz(label, world, key if label in INGESTION else authorization, max_examples, answers[label])
        except (Exception, BaseExceptionGroup) as exc:  # Schemathesis' FailureGroup, or an error of the app's
            failures.append(f"{label}\n{exc}")
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
    return answers


def test_fuzz_as_coe_staff(world: SimpleNamespace, credentials: dict[str, str]) -> None:  # noqa: F811
    answers = _fuzz_all(world, credentials["coe_staff"], credentials["key"], MAX_EXAMPLES)
    # Not just bouncing off 400 and 404: most operations did what they are for at least once (78 of 93 when
    # written; the rest need bodies random data rarely gets right, such as a release naming a real model).
    assert _succeeded(answers) >= 0.75 * len(answers), _summary(answers)


def test_fuzz_as_team_member(world: SimpleNamespace, credentials: dict[str, str]) -> None:  # noqa: F811
    answers = _fuzz_all(world, credentials["team_member"], credentials["key"], MAX_EXAMPLES_TEAM_MEMBER)
    # The CoE's operations refused (403), the team's own done (53 of 93 when written).
    assert _succeeded(answers) >= 0.45 * len(answers), _summary(answers)
    assert answers["POST /api/v1/policies/"][403] == MAX_EXAMPLES_TEAM_MEMBER
    assert answers["POST /api/v1/teams/"][403] == MAX_EXAMPLES_TEAM_MEMBER


def _succeeded(answers: dict[str, Counter[int]]) -> int:
    return sum(1 for statuses in answers.values() if any(200 <= status < 300 for status in statuses))


def _summary(answers: dict[str, Counter[int]]) -> str:
    return "\n".join(f"{label}: {dict(statuses)}" for label, statuses in answers.items())
