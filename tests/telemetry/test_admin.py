"""Telemetry in the admin (superusers, as for the other apps' models): for looking; nobody types a key, a
scorecard or an alert there."""

from __future__ import annotations

import pytest

from apps.telemetry import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["ingestionkey", "pullsource", "scorecard", "alert"])
def test_telemetry_lists_open(admin_client, key_pair, model):
    assert admin_client.get(f"/admin/telemetry/{model}/").status_code == 200


def test_a_key_shows_no_digest_and_cannot_be_added_or_changed(admin_client, key_pair):
    key, raw = key_pair
    client = admin_client
    page = client.get(f"/admin/telemetry/ingestionkey/{key.pk}/change/")
    assert page.status_code == 200
    assert key.digest.encode() not in page.content
    assert raw.encode() not in page.content
    assert client.get("/admin/telemetry/ingestionkey/add/").status_code == 403
    assert client.post(f"/admin/telemetry/ingestionkey/{key.pk}/change/", {"name": "renamed"}).status_code == 403


def test_a_pull_source_hides_its_authorization_header(admin_client, workload, team_member):
    source = services.source_create(workload=workload, name="logs", url="https://telemetry.example.org/events",
                                    auth_header="Bearer s3cret-value", actor=team_member)  # fmt: skip
    page = admin_client.get(f"/admin/telemetry/pullsource/{source.pk}/change/")
    assert page.status_code == 200
    assert b"s3cret-value" not in page.content


def test_keys_scorecards_and_alerts_cannot_be_deleted_in_the_admin(admin_client, key_pair):
    """A key is revoked by its team (audited), not deleted without a trace; cards and alerts are computed."""
    key, _ = key_pair
    assert admin_client.post(f"/admin/telemetry/ingestionkey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [key.pk], "post": "yes"}
    assert admin_client.post("/admin/telemetry/ingestionkey/", bulk).status_code in (200, 302)
    key.refresh_from_db()  # still there: the bulk action is not offered
