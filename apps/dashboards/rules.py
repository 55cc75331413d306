"""Who sees which dashboard (README "Dashboards: who sees what").

- Leadership and CoE staff see the whole portfolio, every workload by name.
- Team members see the portfolio's totals and charts in aggregate; broken down by workload or
  team, their own team's workloads appear by name and every other team's are summed into one
  "Other teams" line. A team's numbers are its own business; the organisation's totals are not.
- A workload's operations dashboard: its team, CoE staff and leadership (as its telemetry tab).
- Compliance posture and guidance adoption: CoE staff and leadership (the CoE's working views).
- Model comparison: everyone signed in (organisation-wide evidence per model, no team's figures).
"""

import rules

from apps.accounts.rules import is_coe_staff, is_leadership, is_signed_in
from apps.registry.rules import is_workload_team_member

sees_everything = is_coe_staff | is_leadership

rules.add_perm("dashboards.view_portfolio", is_signed_in)
rules.add_perm("dashboards.view_portfolio_detail", sees_everything)  # every workload and team by name
rules.add_perm("dashboards.view_operations", sees_everything | is_workload_team_member)
rules.add_perm("dashboards.view_compliance", sees_everything)
rules.add_perm("dashboards.view_adoption", sees_everything)
rules.add_perm("dashboards.view_models", is_signed_in)
