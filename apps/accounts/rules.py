"""Permission predicates, written once and used by pages, API and tasks (``user.has_perm``)."""

from __future__ import annotations

import rules

from .roles import COE_STAFF, LEADERSHIP

is_coe_staff = rules.is_group_member(COE_STAFF)
is_leadership = rules.is_group_member(LEADERSHIP)
is_signed_in = rules.is_authenticated & rules.is_active


@rules.predicate
def is_team_owner(user, team) -> bool:  # type: ignore[no-untyped-def]
    if team is None or not user.is_authenticated:
        return False
    return team.memberships.filter(user=user, role="owner").exists()


@rules.predicate
def is_team_member(user, team) -> bool:  # type: ignore[no-untyped-def]
    if team is None or not user.is_authenticated:
        return False
    return team.pk in user.team_ids


# Teams: everyone signed in reads them; CoE staff create and change them.
rules.add_perm("accounts.view_team", is_signed_in)
rules.add_perm("accounts.add_team", is_coe_staff)
rules.add_perm("accounts.change_team", is_coe_staff)
rules.add_perm("accounts.manage_members", is_coe_staff | is_team_owner)

# The audit trail (stored in core): CoE staff and leadership read it.
rules.add_perm("core.view_auditevent", is_coe_staff | is_leadership)
