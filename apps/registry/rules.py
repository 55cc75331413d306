"""Who may do what in the registry, written once (``user.has_perm("registry.…", obj)``)."""

from __future__ import annotations

import rules

from apps.accounts.rules import is_coe_staff, is_leadership, is_signed_in
from apps.accounts.rules import is_team_member as is_member_of_team


@rules.predicate
def is_workload_team_member(user, workload) -> bool:  # type: ignore[no-untyped-def]
    if workload is None or not user.is_authenticated:
        return False
    return workload.team_id in user.team_ids  # cached per request: no query per row


@rules.predicate
def is_in_any_team(user) -> bool:  # type: ignore[no-untyped-def]
    return user.is_authenticated and bool(user.team_ids)


can_run_workload = is_coe_staff | is_workload_team_member

# Everyone signed in reads the registry and the catalogue.
rules.add_perm("registry.view_workload", is_signed_in)
rules.add_perm("registry.view_aimodel", is_signed_in)
# Registering: for a team you are in (object: the team); without an object: are you in any.
rules.add_perm("registry.add_workload", is_coe_staff | is_in_any_team)
rules.add_perm("registry.add_workload_for_team", is_coe_staff | is_member_of_team)
rules.add_perm("registry.change_workload", can_run_workload)
rules.add_perm("registry.delete_workload", can_run_workload)
rules.add_perm("registry.add_release", can_run_workload)
rules.add_perm("registry.promote_release", can_run_workload)
# Drafts and the money behind a workload: its team, the CoE and leadership (decided in issue #3).
rules.add_perm("registry.view_draft_releases", can_run_workload | is_leadership)
rules.add_perm("registry.view_financials", can_run_workload | is_leadership)
# The catalogue is the CoE's.
rules.add_perm("registry.add_aimodel", is_coe_staff)
rules.add_perm("registry.change_aimodel", is_coe_staff)
rules.add_perm("registry.add_modelprice", is_coe_staff)
rules.add_perm("registry.add_exchangerate", is_coe_staff)
rules.add_perm("registry.view_history", can_run_workload | is_leadership)
