"""Migration 0009: pull sources' Authorization headers, in plain text before, encrypted after (and back)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.telemetry.models import PullSource
from tests.registry.factories import WorkloadFactory

BEFORE = [("telemetry", "0008_monthly_category_rollups")]
AFTER = [("telemetry", "0009_pull_source_auth_header_encrypted")]


def migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_headers_stored_in_plain_text_are_encrypted_and_back() -> None:
    workload = WorkloadFactory()
    try:
        old = migrate(BEFORE).get_model("telemetry", "PullSource")
        old.objects.create(workload_id=workload.pk, name="with", url="https://feed.example.com/a",
                           auth_header="Bearer s3cret")  # fmt: skip
        old.objects.create(workload_id=workload.pk, name="without", url="https://feed.example.com/b")
        migrate(AFTER)
        stored = dict(PullSource.objects.values_list("name", "auth_header_encrypted"))
        assert "s3cret" not in stored["with"]
        assert stored["without"] == ""
        assert PullSource.objects.get(name="with").auth_header() == "Bearer s3cret"
        assert PullSource.objects.get(name="without").auth_header() == ""
        back = migrate(BEFORE).get_model("telemetry", "PullSource")
        assert dict(back.objects.values_list("name", "auth_header")) == {"with": "Bearer s3cret", "without": ""}
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
