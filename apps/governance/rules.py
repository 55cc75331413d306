"""Who may do what in governance (``user.has_perm("governance.…", obj)``)."""

from __future__ import annotations

import rules

from apps.accounts.rules import is_coe_staff, is_leadership, is_signed_in
from apps.registry.rules import is_workload_team_member

rules.add_perm("governance.view_policy", is_signed_in)
rules.add_perm("governance.add_policy", is_coe_staff)
rules.add_perm("governance.publish_policyversion", is_coe_staff)
# Attestations and waiver requests: the workload's team (object: the workload).
rules.add_perm("governance.add_attestation", is_workload_team_member)
rules.add_perm("governance.request_waiver", is_workload_team_member)
rules.add_perm("governance.decide_waiver", is_coe_staff)
rules.add_perm("governance.approve_release", is_coe_staff)
# A workload's compliance: its team, the CoE and leadership.
rules.add_perm("governance.view_compliance", is_workload_team_member | is_coe_staff | is_leadership)
