from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Membership, PersonalToken, Team
from apps.accounts.roles import COE_STAFF, LEADERSHIP
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


class TestTokens:
    def test_token_is_returned_once_and_stored_only_as_a_digest(self, team_member) -> None:
        token, raw = services.token_create(user=team_member, name="CI pipeline")
        assert raw.startswith("coe_")
        assert len(raw) > 40
        stored = PersonalToken.objects.get(pk=token.pk)
        assert raw not in {stored.digest, stored.hint, stored.name}
        assert stored.digest == PersonalToken.digest_of(raw)
        assert raw.startswith(stored.hint)

    def test_creation_and_revocation_are_audited(self, team_member) -> None:
        token, _ = services.token_create(user=team_member, name="CI")
        services.token_revoke(token=token, actor=team_member)
        assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
            "token.create",
            "token.revoke",
        ]

    def test_authenticate_accepts_an_active_token_and_records_last_use(self, team_member) -> None:
        _, raw = services.token_create(user=team_member, name="CI")
        token = services.token_authenticate(raw=raw)
        assert token is not None
        assert token.user == team_member
        assert PersonalToken.objects.get(pk=token.pk).last_used_at is not None

    def test_authenticate_refuses_revoked_expired_unknown_and_inactive(self, team_member) -> None:
        revoked, raw_revoked = services.token_create(user=team_member, name="a")
        services.token_revoke(token=revoked, actor=team_member)
        expired, raw_expired = services.token_create(user=team_member, name="b", expires_in_days=1)
        PersonalToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        _, raw_inactive = services.token_create(user=team_member, name="c")
        assert services.token_authenticate(raw=raw_revoked) is None
        assert services.token_authenticate(raw=raw_expired) is None
        assert services.token_authenticate(raw="coe_not-a-token") is None
        assert services.token_authenticate(raw="not-even-prefixed") is None
        team_member.is_active = False
        team_member.save()
        assert services.token_authenticate(raw=raw_inactive) is None

    def test_name_is_required_and_expiry_bounded(self, team_member) -> None:
        with pytest.raises(ApplicationError) as blank:
            services.token_create(user=team_member, name="  ")
        assert blank.value.field_errors == {"name": ["This field is required."]}
        with pytest.raises(ApplicationError) as too_long:
            services.token_create(user=team_member, name="x", expires_in_days=999)
        assert "expires_in_days" in too_long.value.field_errors
        assert not PersonalToken.objects.exists()

    def test_active_tokens_are_capped(self, team_member) -> None:
        for i in range(services.MAX_ACTIVE_TOKENS):
            services.token_create(user=team_member, name=f"t{i}")
        with pytest.raises(ApplicationError, match="revoke one first"):
            services.token_create(user=team_member, name="one too many")


class TestRolesAndTeams:
    def test_granting_coe_staff_gives_admin_access_and_is_audited(self, team_member) -> None:
        services.role_grant(user=team_member, role=COE_STAFF, actor=None)
        team_member.refresh_from_db()
        assert team_member.is_staff
        assert team_member.groups.filter(name=COE_STAFF).exists()
        assert AuditEvent.objects.filter(action="role.grant", target_id=str(team_member.pk)).exists()
        services.role_revoke(user=team_member, role=COE_STAFF, actor=None)
        team_member.refresh_from_db()
        assert not team_member.is_staff
        assert AuditEvent.objects.filter(action="role.revoke").count() == 1

    def test_granting_twice_records_once(self, team_member) -> None:
        services.role_grant(user=team_member, role=LEADERSHIP, actor=None)
        services.role_grant(user=team_member, role=LEADERSHIP, actor=None)
        assert AuditEvent.objects.filter(action="role.grant").count() == 1

    def test_unknown_role_is_refused(self, team_member) -> None:
        with pytest.raises(ApplicationError, match="Unknown role"):
            services.role_grant(user=team_member, role="Emperor", actor=None)

    def test_team_create_derives_slug_and_refuses_duplicates(self, coe_staff) -> None:
        team = services.team_create(name="Fraud Detection", actor=coe_staff)
        assert team.slug == "fraud-detection"
        with pytest.raises(ApplicationError) as dup:
            services.team_create(name="fraud detection", actor=coe_staff)
        assert "name" in dup.value.field_errors
        assert Team.objects.count() == 1

    def test_membership_set_changes_role_and_is_audited(self, team, other_team_member, coe_staff) -> None:
        services.membership_set(team=team, user=other_team_member, role="member", actor=coe_staff)
        services.membership_set(team=team, user=other_team_member, role="owner", actor=coe_staff)
        assert Membership.objects.get(team=team, user=other_team_member).role == "owner"
        assert AuditEvent.objects.filter(action="membership.set").count() == 2
        services.membership_remove(team=team, user=other_team_member, actor=coe_staff)
        assert not Membership.objects.filter(team=team, user=other_team_member).exists()


class TestPredicates:
    def test_roles_answer_through_has_perm(self, team_member, coe_staff, leader) -> None:
        assert coe_staff.has_perm("accounts.add_team")
        assert not team_member.has_perm("accounts.add_team")
        assert not leader.has_perm("accounts.add_team")
        assert leader.has_perm("core.view_auditevent")
        assert coe_staff.has_perm("core.view_auditevent")
        assert not team_member.has_perm("core.view_auditevent")

    def test_team_owner_manages_own_team_only(self, team_member, team, other_team) -> None:
        assert team_member.has_perm("accounts.manage_members", team)
        assert not team_member.has_perm("accounts.manage_members", other_team)
