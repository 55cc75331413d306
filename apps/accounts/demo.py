"""Demo people and teams for ``make run``. Passwords are set only when a user is created."""

from __future__ import annotations

from . import services
from .models import Team
from .roles import COE_STAFF, LEADERSHIP

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - demo only, printed by make run

TEAMS = [
    ("Claims Automation", "Claims triage and summarisation for the insurance back office."),
    ("Customer Service AI", "Assistants for the contact centre."),
    ("Developer Productivity", "Code assistants and internal developer tooling."),
    ("Risk Analytics", "Credit and fraud analysis support."),
    ("Marketing Content", "Campaign copy and localisation."),
    ("Legal Operations", "Contract review and clause extraction."),
    ("Finance Operations", "Invoice capture, expense questions and month-end reporting."),
    ("People Services", "HR policy help and employee self-service."),
    ("Knowledge Management", "Enterprise search and the company's shared knowledge."),
]

# username, first, last, global role, [(team, role)], who
PEOPLE = [
    ("coe", "Cora", "Okafor", COE_STAFF, [], "CoE staff"),
    ("lead", "Lee", "Adeyemi", LEADERSHIP, [], "Leadership"),
    ("alice", "Alice", "Martin", None, [("Claims Automation", "owner")], "team member (Claims Automation, owner)"),
    ("bob", "Bob", "Nguyen", None, [("Customer Service AI", "owner")], "team member (Customer Service AI)"),
    (
        "carol",
        "Carol",
        "Schmidt",
        None,
        [("Claims Automation", "member"), ("Risk Analytics", "owner")],
        "team member (two teams)",
    ),
    ("dev", "Dev", "Patel", None, [("Developer Productivity", "owner")], "team member (Developer Productivity)"),
    (
        "erin",
        "Erin",
        "Kowalski",
        None,
        [("Finance Operations", "owner"), ("Marketing Content", "owner")],
        "team member (Finance Operations, Marketing Content)",
    ),
    (
        "hugo",
        "Hugo",
        "Lindqvist",
        None,
        [("People Services", "owner"), ("Legal Operations", "owner")],
        "team member (People Services, Legal Operations)",
    ),
    ("kim", "Kim", "Tanaka", None, [("Knowledge Management", "owner")], "team member (Knowledge Management)"),
]


def seed() -> list[tuple[str, str, str]]:
    services.roles_ensure()
    teams = {}
    for name, description in TEAMS:
        team = Team.objects.filter(name=name).first() or services.team_create(
            name=name, description=description, actor=None
        )
        teams[name] = team
    sign_ins = []
    for username, first, last, role, memberships, who in PEOPLE:
        user, _ = services.user_ensure(
            username=username,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            email=f"{username}@example.org",
        )
        if role:
            services.role_grant(user=user, role=role, actor=None)
        for team_name, team_role in memberships:
            services.membership_set(team=teams[team_name], user=user, role=team_role, actor=None)
        sign_ins.append((username, DEMO_PASSWORD, who))
    return sign_ins
