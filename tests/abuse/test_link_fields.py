"""Links people give, which the portal shows as ``<a href>``: only http(s) gets in. Templates
escape text but cannot make a ``javascript:`` URL safe in an ``href``, so the write must refuse it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from apps.governance.models import Attestation
from apps.registry.models import Workload

from .payloads import MARK

pytestmark = pytest.mark.django_db

BAD_LINKS = [
    f"javascript:{MARK}",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("field", ["repository_url", "runbook_url", "dashboard_url"])
def test_workload_links_must_be_http(world: SimpleNamespace, field: str) -> None:
    client = APIClient()
    client.force_authenticate(world.team_member)
    for href in BAD_LINKS:
        response = client.patch(f"/api/v1/workloads/{world.workload.slug}/", {field: href}, format="json")
        assert response.status_code == 400, (href, response.status_code)
        assert field in response.json()
    assert not Workload.objects.filter(**{f"{field}__icontains": "script"}).exists()
    ok = client.patch(f"/api/v1/workloads/{world.workload.slug}/", {field: "https://example.org/x"}, format="json")
    assert ok.status_code == 200


def test_attestation_evidence_must_be_http(world: SimpleNamespace) -> None:
    client = APIClient()
    client.force_authenticate(world.team_member)
    count = Attestation.objects.count()
    for href in BAD_LINKS:
        body = {"policy": world.policy.slug, "control": world.control_review.key, "answer": "Yes.",
                "evidence_url": href}  # fmt: skip
        response = client.post(f"/api/v1/workloads/{world.workload.slug}/attestations/", body, format="json")
        assert response.status_code == 400, (href, response.status_code)
        assert "evidence_url" in response.json()
    assert Attestation.objects.count() == count


def test_pull_source_urls_must_be_http(world: SimpleNamespace) -> None:
    client = APIClient()
    client.force_authenticate(world.team_member)
    for href in BAD_LINKS:
        body = {"name": f"source {href[:5]}", "url": href}
        response = client.post(f"/api/v1/workloads/{world.workload.slug}/pull-sources/", body, format="json")
        assert response.status_code == 400, (href, response.status_code)
        assert "url" in response.json()
