"""Who may do what with telemetry (``user.has_perm("telemetry.…", workload)``)."""

from __future__ import annotations

import rules

from apps.accounts.rules import is_coe_staff, is_leadership
from apps.registry.rules import is_workload_team_member

# The panel (keys' names, sources' health, scorecards, alerts): the team, the CoE, leadership.
rules.add_perm("telemetry.view_telemetry", is_workload_team_member | is_coe_staff | is_leadership)
# Keys and sources are the team's credentials and endpoints: the team creates them. The CoE may
# also revoke a key or pause a source (incident response); leadership changes nothing.
rules.add_perm("telemetry.add_ingestionkey", is_workload_team_member)
rules.add_perm("telemetry.revoke_ingestionkey", is_workload_team_member | is_coe_staff)
rules.add_perm("telemetry.add_pullsource", is_workload_team_member)
rules.add_perm("telemetry.change_pullsource", is_workload_team_member | is_coe_staff)
# Scoring now, and closing alerts: the team and the CoE.
rules.add_perm("telemetry.score_workload", is_workload_team_member | is_coe_staff)
rules.add_perm("telemetry.resolve_alert", is_workload_team_member | is_coe_staff)
