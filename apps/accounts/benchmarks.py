"""Benchmarks of this app's lists (run by ``make bench``)."""

from __future__ import annotations

from apps.core.management.commands.bench import Benchmark, Case

from .models import Membership, Team, User


def _seed_teams(count: int) -> list[Case]:
    existing = Team.objects.count()
    Team.objects.bulk_create(
        Team(name=f"Bench team {i:05d}", slug=f"bench-team-{i:05d}") for i in range(existing, count)
    )
    user, _ = User.objects.get_or_create(username="bench-reader")
    teams = list(Team.objects.order_by("name")[:25])
    Membership.objects.bulk_create([Membership(user=user, team=team) for team in teams], ignore_conflicts=True)
    return [
        Case("team list page", "/accounts/teams/", user),
        Case("GET /api/v1/teams/", "/api/v1/teams/", user),
        Case("home page", "/", user),
    ]


BENCHMARKS = [Benchmark("teams", _seed_teams, sizes=(100, 2000))]
