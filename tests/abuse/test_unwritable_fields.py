"""No field a caller may not set is writable through the API.

Every write operation of the OpenAPI schema is sent, as a persona the permission matrix lets
write there, its valid body plus every field the caller must not set and the operation does not
declare: ids, timestamps, the actor, another team or workload, states a service controls
(``status``, ``state``, ``approval_status``, ``lifecycle_stage``), ``is_current``, counters,
secrets' digests. Each carries a sentinel value no legitimate write produces. The answer must be a
2xx that ignored them or a 400 that refused the whole body (and stored nothing); then every row
the request added or changed is searched for the sentinels.

Fields an operation declares are its to take (a CoE member sets a model's ``approval_status``
when adding it; a triage sets a thread's ``status``): those are the permission matrix's and the
services' business, not this test's.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from rest_framework.test import APIClient

from apps.accounts.models import Team, User
from apps.registry import services as registry
from apps.registry.models import Workload
from tests.access import API

from .test_bad_bodies import API_WRITES, Operation, _writer

pytestmark = pytest.mark.django_db

INT = 987_654
TEXT = "injected-xyz"  # short enough for any column it is sent to (a 12-character hint)
WHEN = "2001-02-03T04:05:06Z"
# Rows that legitimately name another team or its people after a write (a published lesson
# reaches every team; a notification goes to whoever follows).
MAY_NAME_OTHERS = {"core.notification", "feedback.lessondelivery", "core.auditevent"}
# Columns that say who did something: never anyone but the caller.
WHO = {"actor", "author", "created_by", "decided_by", "approved_by", "requested_by", "owner", "user", "hidden_by",
       "attested_by", "promoted_by", "revoked_by", "triaged_by"}  # fmt: skip


def _extras(world: SimpleNamespace, other_workload: Workload) -> dict[str, Any]:
    other = world.other_team_member
    extras: dict[str, Any] = {
        "id": INT, "pk": INT, "slug": TEXT, "number": TEXT,
        "status": TEXT, "state": TEXT, "approval_status": TEXT, "lifecycle_stage": TEXT, "decision": TEXT,
        "is_current": True, "is_staff": True, "is_superuser": True, "hidden": True, "is_retired": True,
        "team": world.other_team.slug, "team_id": world.other_team.pk,
        "workload": other_workload.slug, "workload_id": other_workload.pk,
        "live_release": INT, "live_release_id": INT, "current_version": TEXT,
        "digest": TEXT, "hint": TEXT, "content_hash": TEXT, "key": TEXT,
        "events_accepted": INT, "events_dropped": INT, "use_count": INT, "version_count": INT, "post_count": INT,
        "views": INT, "rating_count": INT,
    }  # fmt: skip
    for name in ("created_at", "updated_at", "published_at", "decided_at", "revoked_at", "last_used_at",
                 "promoted_at", "approved_at", "attested_at", "expires_at", "hidden_at"):  # fmt: skip
        extras[name] = WHEN
    for name in WHO:
        extras[name] = other.pk
        extras[f"{name}_id"] = other.pk
    return extras


def _rows() -> dict[str, dict[Any, dict[str, Any]]]:
    return {
        model._meta.label_lower: {row["pk"]: row for row in _values(model)}
        for model in apps.get_models()
        if model._meta.managed and model._meta.label_lower != "sessions.session"
    }


def _values(model: type[models.Model]) -> list[dict[str, Any]]:
    names = [f.attname for f in model._meta.concrete_fields]
    return [dict(row, pk=row[model._meta.pk.attname]) for row in model._default_manager.values(*names)]


def _touched(before: dict[str, dict[Any, dict[str, Any]]], after: dict[str, dict[Any, dict[str, Any]]]):  # type: ignore[no-untyped-def]
    for label, rows in after.items():
        for pk, row in rows.items():
            if before[label].get(pk) != row:
                yield label, row


def _sentinels(label: str, row: dict[str, Any], model: type[models.Model], world: SimpleNamespace,
               other_workload: Workload) -> list[str]:  # fmt: skip
    found = []
    fields = {f.attname: f for f in model._meta.concrete_fields}
    for column, value in row.items():
        field = fields.get(column)
        if field is None or isinstance(field, models.JSONField):
            continue
        if value == INT and not isinstance(value, bool):
            found.append(f"{column}={value}")
        elif isinstance(value, str) and TEXT in value:
            found.append(f"{column}={value!r}")
        elif isinstance(value, datetime) and value.year == 2001:
            found.append(f"{column}={value}")
        elif label not in MAY_NAME_OTHERS and field.is_relation:
            target = field.related_model
            if target is User and field.name in WHO and value == world.other_team_member.pk:
                found.append(f"{column} names another team's member")
            elif target is Team and value == world.other_team.pk:
                found.append(f"{column} names another team")
            elif target is Workload and value == other_workload.pk:
                found.append(f"{column} names another team's workload")
    return found


WITH_BODY = [op for op in API_WRITES if op.has_body]
# Writes that rightly store nothing in the matrix's world.
STORES_NOTHING = {
    "POST /api/v1/templates/{slug}/versions/{number}/try/": "renders the prompt, stores nothing",
    "POST /api/v1/workloads/{workload_slug}/releases/{id}/approve/": "the world's draft release is approved already",
}


@pytest.mark.parametrize("op", WITH_BODY, ids=[op.key for op in WITH_BODY])
def test_fields_the_caller_may_not_set_are_not_applied(world: SimpleNamespace, op: Operation) -> None:
    other_workload = registry.workload_register(
        actor=world.other_team_member, team=world.other_team, name="Other team's assistant"
    )
    route = API[op.key]
    persona, user = _writer(world, op)
    declared = {f.name for f in op.fields}
    extras = {k: v for k, v in _extras(world, other_workload).items() if k not in declared}
    body = {**route.data(world, persona), **extras}
    client = APIClient()
    client.force_authenticate(user)
    url = op.path.format(**route.kwargs(world))
    users_before = list(User.objects.order_by("pk").values_list("pk", "is_staff", "is_superuser", "username"))
    before = _rows()
    response = client.generic(op.method.upper(), url, data=json.dumps(body), content_type="application/json")
    after = _rows()
    assert response.status_code in {200, 201, 202, 204, 400}, (response.status_code, response.content[:300])
    touched = list(_touched(before, after))
    if response.status_code == 400:
        assert touched == [], f"a refused body stored {[label for label, _ in touched]}"
    elif op.key not in STORES_NOTHING:
        assert touched, "the write stored nothing: the valid body did not do its work"
    applied = {
        f"{label} #{row['pk']}": found
        for label, row in touched
        if (found := _sentinels(label, row, apps.get_model(label), world, other_workload))
    }
    assert applied == {}, f"{persona} {op.key} applied fields it must not: {applied}"
    assert list(User.objects.order_by("pk").values_list("pk", "is_staff", "is_superuser", "username")) == users_before


def test_the_search_finds_applied_fields(world: SimpleNamespace) -> None:
    """The test above would see it if a write did apply them: here the ORM applies some."""
    other_workload = registry.workload_register(actor=world.other_team_member, team=world.other_team, name="Other")
    before = _rows()
    Workload.objects.filter(pk=world.workload.pk).update(team=world.other_team, created_at=WHEN, lifecycle_stage=TEXT)
    touched = [(label, row) for label, row in _touched(before, _rows()) if label == "registry.workload"]
    assert len(touched) == 1
    found = _sentinels("registry.workload", touched[0][1], Workload, world, other_workload)
    assert sorted(found) == sorted(
        ["team_id names another team", f"lifecycle_stage={TEXT!r}", "created_at=2001-02-03 04:05:06+00:00"]
    )
