"""The guidance adoption and feedback dashboard (apps/dashboards/adoption.py) and the bulk reads it
stands on: the registry's ``adopters_of``, the library's ``versions_published`` and the feedback
app's ``threads_per_week``, ``rating_summary`` and ``per_guidance_item`` over a period.

One world, built through the services: two templates published over months (versions back-dated),
workloads adopting older and newer versions (explicitly and through a live release), two policies
and feedback threads with known response times and ratings; every figure is checked against it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team, User
from apps.dashboards import adoption as dashboard
from apps.dashboards.filters import Filters
from apps.feedback import selectors as feedback
from apps.feedback import services as feedback_services
from apps.feedback.models import Thread
from apps.governance import services as governance
from apps.governance.models import Policy
from apps.library import services as library
from apps.library.models import Template, TemplateVersion
from apps.library.selectors import versions_published
from apps.registry.adoption import adopters_of, adoption_set
from apps.registry.models import Release, Workload
from tests.registry.factories import ReleaseFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboards/adoption/"
API = "/api/v1/dashboards/adoption/"


# --- The world -----------------------------------------------------------------------------------


def template(actor: User, title: str, kind: str, versions: list[tuple[str, int]]) -> Template:
    """A template whose versions were published ``days`` ago each, in order (the last is current)."""
    made = library.template_create(actor=actor, title=title, kind=kind, category="monitoring", summary="Use it.")
    now = timezone.now()
    for number, days in versions:
        version = library.version_create(
            actor=actor, template=made, number=number, body=f"{title} {number}: {{{{ x }}}}", changelog=f"{number}.",
            variables=["x"] if kind == Template.Kind.PROMPT else None,
        )  # fmt: skip
        library.version_publish(actor=actor, version=version)
        TemplateVersion.objects.filter(pk=version.pk).update(published_at=now - timedelta(days=days))
    return made


def v(made: Template, number: str) -> TemplateVersion:
    return made.versions.get(number=number)


def live_release(workload: Workload, versions: list[TemplateVersion]) -> Release:
    release = ReleaseFactory(workload=workload, version="1.0.0", status=Release.Status.LIVE)
    release.template_versions.set(versions)
    Workload.objects.filter(pk=workload.pk).update(live_release=release)
    return release


def policy(actor: User, title: str, **applies: list[str]) -> Policy:
    made = governance.policy_create(actor=actor, title=title, category="security_governance", summary="Do it.")
    version = governance.policy_version_create(actor=actor, policy=made, number="1.0.0", body=f"{title}.")
    governance.control_add(actor=actor, version=version, title=f"{title} control", statement="Must.",
                           kind="attestation", **applies)  # fmt: skip
    governance.policy_version_publish(actor=actor, version=version)
    return made


def thread(author: User, title: str, *, opened: timedelta, first: timedelta | None = None,
           closed: timedelta | None = None, status: str = Thread.Status.NEW, **about: Any) -> Thread:  # fmt: skip
    """A thread opened ``opened`` ago, first answered ``first`` after that, closed ``closed`` after."""
    made = feedback_services.thread_open(actor=author, title=title, body="Details.", **about)
    created = timezone.now() - opened
    Thread.objects.filter(pk=made.pk).update(
        created_at=created, status=status,
        first_response_at=created + first if first is not None else None,
        closed_at=created + closed if closed is not None else None,
    )  # fmt: skip
    made.refresh_from_db()
    return made


@dataclass
class World:
    now: datetime
    runbook: Template
    prompt: Template
    alpha: Workload  # high risk, production: runbook 1.0.0 (adopted), prompt 1.0.0 (live release)
    bravo: Workload  # runbook 2.0.0, the current one
    charlie: Workload  # the other team's, production: runbook 1.1.0
    delta: Workload  # the other team's; uses nothing
    retired: Workload  # adopted runbook 1.0.0, then retired: counted nowhere
    human_review: Policy  # applies to high-risk workloads
    cost_guardrails: Policy  # applies to workloads in production
    waiting: list[Thread]  # open and unanswered, oldest first


@pytest.fixture
def world(coe_staff: User, team_member: User, team: Team, other_team: Team) -> World:
    runbook = template(coe_staff, "Outage runbook", Template.Kind.RUNBOOK, [("1.0.0", 100), ("1.1.0", 40),
                                                                             ("2.0.0", 10)])  # fmt: skip
    prompt = template(coe_staff, "Claim prompt", Template.Kind.PROMPT, [("1.0.0", 200), ("1.0.1", 5)])
    alpha = WorkloadFactory(name="Alpha", slug="alpha", team=team, risk_tier="high", lifecycle_stage="production")
    bravo = WorkloadFactory(name="Bravo", slug="bravo", team=team, risk_tier="limited", lifecycle_stage="development")
    charlie = WorkloadFactory(name="Charlie", slug="charlie", team=other_team, risk_tier="limited",
                              lifecycle_stage="production")  # fmt: skip
    delta = WorkloadFactory(name="Delta", slug="delta", team=other_team, risk_tier="minimal",
                            lifecycle_stage="development")  # fmt: skip
    retired = WorkloadFactory(name="Retired", slug="retired", team=team, risk_tier="high", lifecycle_stage="production")
    adoption_set(actor=coe_staff, workload=alpha, version=v(runbook, "1.0.0"))
    adoption_set(actor=coe_staff, workload=bravo, version=v(runbook, "2.0.0"))
    adoption_set(actor=coe_staff, workload=charlie, version=v(runbook, "1.1.0"))
    adoption_set(actor=coe_staff, workload=retired, version=v(runbook, "1.0.0"))
    Workload.objects.filter(pk=retired.pk).update(lifecycle_stage="retired")
    live_release(alpha, [v(prompt, "1.0.0")])

    human_review = policy(coe_staff, "Human review", risk_tiers=["high"])
    cost_guardrails = policy(coe_staff, "Cost guardrails", lifecycle_stages=["production"])

    h = timedelta(hours=1)
    d = timedelta(days=1)
    thread(team_member, "Runbook step 3 fails", opened=3 * d, first=2 * h, closed=26 * h,
           status=Thread.Status.ADDRESSED, kind=Thread.Kind.PROBLEM, rating=2, template=runbook)  # fmt: skip
    thread(team_member, "Which region first?", opened=10 * d, first=6 * h, status=Thread.Status.ACKNOWLEDGED,
           kind=Thread.Kind.QUESTION, rating=4, template=runbook)  # fmt: skip
    unanswered = thread(team_member, "Review sampling", opened=24 * h, kind=Thread.Kind.SUGGESTION, rating=5,
                        policy=human_review)  # fmt: skip
    # Before the period (the last 30 days): counted nowhere but in the queue of unanswered threads.
    oldest = thread(team_member, "Who runs the CoE?", opened=40 * d, kind=Thread.Kind.QUESTION)
    thread(team_member, "Old runbook gripe", opened=60 * d, first=h, closed=2 * h, status=Thread.Status.DECLINED,
           kind=Thread.Kind.PROBLEM, rating=1, template=runbook)  # fmt: skip
    return World(timezone.now(), runbook, prompt, alpha, bravo, charlie, delta, retired, human_review,
                 cost_guardrails, [oldest, unanswered])  # fmt: skip


def build(user: User, query: str = "") -> Any:
    filters, _ = Filters.from_query(QueryDict(query))
    return dashboard.build(user=user, filters=filters, query=QueryDict(query))


def kpis(built: Any) -> dict[str, tuple[str, Any, str, str]]:
    return {k.key: (k.value, k.raw, k.detail, k.url) for k in built.kpis}


def ago(world: World, days: int) -> date:
    return (world.now - timedelta(days=days)).date()


# --- The numbers ---------------------------------------------------------------------------------


def test_kpis_count_adoptions_lag_reach_and_the_feedback_loop(world: World, coe_staff: User) -> None:
    built = build(coe_staff)
    assert built.name == "adoption"
    assert built.title == "Guidance adoption and feedback"
    assert kpis(built) == {
        "templates-adopted": ("2", 2, "by 3 of 4 workloads", "#section-adoption"),
        "behind": ("3", 3, "75 % of 4 adoptions", "#section-lagging"),
        "policy-reach": ("2", 2, "50 % of 4 workloads", "#section-policy-reach"),
        "threads": ("3", 3, "2 still open", "#section-feedback-weekly"),
        "first-response": ("4 h", 4.0, "2 of 3 answered", "#section-waiting"),  # median of 2 h and 6 h
        "addressed": ("26 h", 26.0, "threads opened in the period and addressed", "#section-feedback-items"),
        "rating": ("3.67", 3.6667, "from 3 ratings", "#section-ratings"),  # (2 + 4 + 5) / 3
    }
    assert next(k for k in built.kpis if k.key == "behind").state == "bad"


def test_lagging_adopters_say_what_they_use_what_is_current_and_since_when(world: World, coe_staff: User) -> None:
    table = build(coe_staff).part("lagging")
    assert table.columns == ["Workload", "Team", "Template", "Version in use", "Current version", "Behind by",
                             "Newer versions", "Behind since", "Days behind", "Through"]  # fmt: skip
    # Longest behind first; Bravo is on 2.0.0 and the retired workload is left out.
    assert table.rows == [
        ["Alpha", "Claims Automation", "Outage runbook", "1.0.0", "2.0.0", "1 major", 2, ago(world, 40), 40, "adopted"],
        ["Charlie", "Customer Service AI", "Outage runbook", "1.1.0", "2.0.0", "1 major", 1, ago(world, 10), 10,
         "adopted"],
        ["Alpha", "Claims Automation", "Claim prompt", "1.0.0", "1.0.1", "1 patch", 1, ago(world, 5), 5,
         "live release"],
    ]  # fmt: skip
    assert table.links == [
        reverse("registry:workload-templates", args=["alpha"]),
        reverse("registry:workload-templates", args=["charlie"]),
        reverse("registry:workload-templates", args=["alpha"]),
    ]


def test_adoption_and_lag_charts(world: World, coe_staff: User) -> None:
    built = build(coe_staff)
    adoption = built.part("adoption")
    assert adoption.rows == [
        ["Outage runbook", "Runbook", "2.0.0", 3, 1, 2],
        ["Claim prompt", "Prompt template", "1.0.1", 1, 0, 1],
    ]
    assert adoption.links == [
        reverse("library:template-detail", args=["outage-runbook"]),
        reverse("library:template-detail", args=["claim-prompt"]),
    ]
    bars = {trace["name"]: trace["x"] for trace in adoption.figure["data"]}
    assert bars == {"On the current version": [1, 0], "Behind": [2, 1]}

    lag = built.part("lag")
    assert lag.columns == ["Behind for", "Major versions behind", "Minor versions behind", "Patches behind",
                           "Version withdrawn", "Adopters behind"]  # fmt: skip
    assert lag.rows == [
        ["Under 30 days", 1, 0, 1, 0, 2],  # Charlie (10 days, 1.1.0 → 2.0.0), Alpha's prompt (5 days, a patch)
        ["30–89 days", 1, 0, 0, 0, 1],  # Alpha's runbook (40 days)
        ["90–179 days", 0, 0, 0, 0, 0],
        ["180 days or more", 0, 0, 0, 0, 0],
    ]
    assert [trace["name"] for trace in lag.figure["data"]] == ["Major versions behind", "Patches behind"]


def test_policy_reach_counts_workloads_under_a_current_policy(world: World, coe_staff: User) -> None:
    reach = build(coe_staff).part("policy-reach")
    # Four workloads (the retired one left out): Alpha and Charlie are in production, Alpha is high risk.
    assert reach.rows == [["Cost guardrails", "1.0.0", 2, 0.5], ["Human review", "1.0.0", 1, 0.25]]
    assert reach.links == [
        reverse("governance:policy-detail", args=["cost-guardrails"]),
        reverse("governance:policy-detail", args=["human-review"]),
    ]


def test_feedback_per_week_per_item_and_waiting(world: World, coe_staff: User) -> None:
    built = build(coe_staff)
    weekly = built.part("feedback-weekly")
    assert weekly.columns == ["Week of", "Question", "Problem", "Suggestion", "Success story", "Threads"]
    first = world.now.date() - timedelta(days=29)
    monday = first - timedelta(days=first.weekday())
    assert [row[0] for row in weekly.rows] == [
        monday + timedelta(weeks=n) for n in range((world.now.date() - monday).days // 7 + 1)
    ]
    expected: dict[date, list[int]] = {}
    for days, column in ((3, 1), (10, 0), (1, 2)):
        day = ago(world, days)
        week = expected.setdefault(day - timedelta(days=day.weekday()), [0, 0, 0, 0, 0])
        week[column] += 1
        week[4] += 1
    assert {row[0]: row[1:] for row in weekly.rows if row[-1]} == expected

    items = built.part("feedback-items")
    assert items.rows == [
        ["Outage runbook", "Template", 2, 1, 2, 3.0],  # the 60-day-old thread is before the period
        ["Human review", "Policy", 1, 1, 1, 5.0],
    ]
    assert items.links == [
        reverse("library:template-detail", args=["outage-runbook"]),
        reverse("governance:policy-detail", args=["human-review"]),
    ]
    ratings = built.part("ratings")
    assert ratings.rows == [["Outage runbook", "Template", 2, 3.0], ["Human review", "Policy", 1, 5.0]]

    waiting = built.part("waiting")
    assert waiting.rows == [
        ["Who runs the CoE?", "Question", "The CoE in general", ago(world, 40), 960.0, None],
        ["Review sampling", "Suggestion", "Human review", ago(world, 1), 24.0, None],
    ]
    assert waiting.links == [reverse("feedback:thread-detail", args=[t.pk]) for t in world.waiting]


def test_a_team_filter_narrows_adoption_and_reach_not_feedback(world: World, coe_staff: User) -> None:
    built = build(coe_staff, "team=customer-service-ai")
    assert {k: v[1] for k, v in kpis(built).items()} == {
        "templates-adopted": 1, "behind": 1, "policy-reach": 1, "threads": 3, "first-response": 4.0,
        "addressed": 26.0, "rating": 3.6667,
    }  # fmt: skip
    assert [row[0] for row in built.part("lagging").rows] == ["Charlie"]
    assert built.part("policy-reach").rows == [["Cost guardrails", "1.0.0", 1, 0.5], ["Human review", "1.0.0", 0, 0.0]]


def test_a_period_before_the_feedback_counts_none_of_it(world: World, coe_staff: User) -> None:
    end = ago(world, 50)
    built = build(coe_staff, f"period=custom&start={ago(world, 70)}&end={end}")
    assert {k: v[1] for k, v in kpis(built).items() if k in {"threads", "first-response", "addressed", "rating"}} == {
        "threads": 1, "first-response": 1.0, "addressed": None, "rating": 1.0,  # the declined 60-day-old thread
    }  # fmt: skip
    assert built.part("feedback-items").rows == [["Outage runbook", "Template", 1, 0, 1, 1.0]]
    assert built.part("lagging").rows  # adoption is as it stands today, whatever the period


def test_an_empty_portfolio_shows_empty_parts(coe_staff: User) -> None:
    built = build(coe_staff)
    assert {k: v[1] for k, v in kpis(built).items()} == {
        "templates-adopted": 0, "behind": 0, "policy-reach": 0, "threads": 0, "first-response": None,
        "addressed": None, "rating": None,
    }  # fmt: skip
    assert all(chart.is_empty for chart in built.charts)
    assert all(not table.rows for table in built.tables)


def test_a_withdrawn_version_counts_as_behind(world: World, coe_staff: User) -> None:
    library.version_deprecate(actor=coe_staff, version=v(world.runbook, "2.0.0"))  # 1.1.0 is current again
    rows = {(row[0], row[2]): row[3:9] for row in build(coe_staff).part("lagging").rows}
    deprecated_at = v(world.runbook, "2.0.0").deprecated_at.date()
    assert rows == {
        ("Alpha", "Outage runbook"): ["1.0.0", "1.1.0", "1 minor", 1, ago(world, 40), 40],
        ("Bravo", "Outage runbook"): ["2.0.0", "1.1.0", "withdrawn", 0, deprecated_at, 0],
        ("Alpha", "Claim prompt"): ["1.0.0", "1.0.1", "1 patch", 1, ago(world, 5), 5],
    }


# --- Speed: the same queries for 2 and for 10 -----------------------------------------------------


def grow(actor: User, team: Team, start: int, count: int) -> None:
    """``count`` more workloads, templates, policies and threads: each workload adopts an old version of
    each new template, runs a live release on another and is under a policy."""
    for n in range(start, start + count):
        made = template(actor, f"Runbook {n}", Template.Kind.RUNBOOK, [("1.0.0", 30), ("1.1.0", 3)])
        prompt = template(actor, f"Prompt {n}", Template.Kind.PROMPT, [("1.0.0", 30)])
        workload = WorkloadFactory(name=f"Load {n}", slug=f"load-{n}", team=team, lifecycle_stage="production")
        adoption_set(actor=actor, workload=workload, version=v(made, "1.0.0"))
        live_release(workload, [v(prompt, "1.0.0")])
        policy(actor, f"Policy {n}", lifecycle_stages=["production"])
        thread(actor, f"Thread {n}", opened=timedelta(days=2), rating=3, template=made)
        thread(actor, f"Question {n}", opened=timedelta(days=1), first=timedelta(hours=n), policy=Policy.objects.get(
            slug=f"policy-{n}"))  # fmt: skip


def queries(user: User) -> int:
    with CaptureQueriesContext(connection) as captured:
        build(user)
    return len(captured)


def test_the_query_count_does_not_grow_with_workloads_templates_or_threads(
    coe_staff: User, team_member: User, team: Team
) -> None:
    grow(coe_staff, team, 0, 2)
    two = queries(coe_staff)
    assert build(coe_staff).numbers["adoptions"] == 4
    grow(coe_staff, team, 2, 8)
    ten = queries(coe_staff)
    built = build(coe_staff)
    assert (built.numbers["adoptions"], built.numbers["behind"], built.numbers["policy_reach"]) == (20, 10, 10)
    assert built.numbers["feedback"]["threads"] == 20
    assert two == ten
    assert ten == 12


# --- The bulk reads ------------------------------------------------------------------------------


def test_adopters_of_prefers_the_live_release_and_leaves_out_retired(world: World, coe_staff: User) -> None:
    live_release(world.bravo, [v(world.runbook, "1.1.0")])  # beside its explicit adoption of 2.0.0
    with CaptureQueriesContext(connection) as captured:
        found = adopters_of(workloads=Workload.objects.all())
        listed = [(a.version.template.title, a.workload.name, a.workload.team.name, a.version.number, a.via,
                   a.is_behind) for a in found]  # fmt: skip
    assert len(captured) == 3  # the workloads with their teams; their template uses; the versions they name
    assert listed == [
        ("Claim prompt", "Alpha", "Claims Automation", "1.0.0", "release", True),
        ("Outage runbook", "Alpha", "Claims Automation", "1.0.0", "explicit", True),
        ("Outage runbook", "Bravo", "Claims Automation", "1.1.0", "release", True),
        ("Outage runbook", "Charlie", "Customer Service AI", "1.1.0", "explicit", True),
    ]
    assert [a.workload.name for a in adopters_of(workloads=Workload.objects.filter(team__slug="claims-automation"))] \
        == ["Alpha", "Alpha", "Bravo"]  # fmt: skip
    # Given the workloads themselves (as the dashboard has them), the same answer in two queries, and
    # the retired ones still left out.
    workloads = list(Workload.objects.select_related("team"))
    assert any(w.is_retired for w in workloads)
    with CaptureQueriesContext(connection) as captured:
        again = adopters_of(workloads=workloads)
    assert len(captured) == 2
    assert again == found
    assert [(a.workload.team.name, a.version.template.title) for a in again] == [(a.workload.team.name,
            a.version.template.title) for a in found]  # fmt: skip
    assert adopters_of(workloads=[w for w in workloads if w.is_retired]) == []


def test_versions_published_leaves_out_drafts(world: World, coe_staff: User) -> None:
    library.version_create(actor=coe_staff, template=world.runbook, number="3.0.0", body="Draft.")
    found = versions_published(template_ids=[world.runbook.pk, world.prompt.pk])
    # By template (the runbook was made first), then by version number.
    assert [(t.template.slug, t.number, t.is_current) for t in found] == [
        ("outage-runbook", "1.0.0", False), ("outage-runbook", "1.1.0", False), ("outage-runbook", "2.0.0", True),
        ("claim-prompt", "1.0.0", False), ("claim-prompt", "1.0.1", True),
    ]  # fmt: skip


def test_the_threads_awaiting_a_response_are_the_triage_queues_unanswered_ones(world: World) -> None:
    queue = [t for t in feedback.triage_queue(filters={"status": "open"}) if t.first_response_at is None]
    assert queue == world.waiting  # the world has some, oldest first
    assert feedback.threads_awaiting_response(limit=10) == queue
    assert feedback.threads_awaiting_response(limit=1) == queue[:1]
    assert [str(t.about) for t in feedback.threads_awaiting_response(limit=10)] == [str(t.about) for t in queue]


def test_feedback_metrics_over_a_period(world: World) -> None:
    start = timezone.now() - timedelta(days=30)
    end = timezone.now()
    assert feedback.rating_summary(start=start, end=end) == (3, pytest.approx(11 / 3))
    assert feedback.rating_summary() == (4, 3.0)  # with the 60-day-old rating of 1
    every = feedback.per_guidance_item()  # every thread, whenever opened: (1 + 2 + 4) / 3 for the runbook
    assert {row["slug"]: (row["threads"], row["ratings"], row["average_rating"]) for row in every} == {
        "outage-runbook": (3, 3, 2.33), "human-review": (1, 1, 5.0),
    }  # fmt: skip
    weekly = feedback.threads_per_week(start=start, end=end)
    assert sum(row["threads"] for row in weekly) == 3
    assert all(row["week"].weekday() == 0 for row in weekly)


# --- Pages, CSV and API ----------------------------------------------------------------------------


def test_the_page_shows_the_lagging_adopters_to_the_coe(world: World, coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Adopters that lag" in html
    assert f'href="{reverse("registry:workload-templates", args=["charlie"])}"' in html
    for key in ("adoption", "lag", "policy-reach", "feedback-weekly", "ratings"):
        assert f'data-dashboard-chart="chart-{key}-figure"' in html


def test_team_members_are_refused(world: World, team_member: User, client_for: Any) -> None:
    client = client_for(team_member)
    assert client.get(PAGE).status_code == 403
    assert client.get(API).status_code == 403
    assert client.get(PAGE, {"export": "lagging"}).status_code == 403


def test_the_csv_export_of_the_lagging_adopters_is_escaped(world: World, coe_staff: User, client_for: Any) -> None:
    Workload.objects.filter(pk=world.charlie.pk).update(name="=1+2")
    response = client_for(coe_staff).get(PAGE, {"export": "lagging"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="adoption-lagging-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["Workload", "Team", "Template", "Version in use", "Current version"]
    assert rows[1:] == [
        ["Alpha", "Claims Automation", "Outage runbook", "1.0.0", "2.0.0", "1 major", "2", str(ago(world, 40)), "40",
         "adopted"],
        ["'=1+2", "Customer Service AI", "Outage runbook", "1.1.0", "2.0.0", "1 major", "1", str(ago(world, 10)),
         "10", "adopted"],
        ["Alpha", "Claims Automation", "Claim prompt", "1.0.0", "1.0.1", "1 patch", "1", str(ago(world, 5)), "5",
         "live release"],
    ]  # fmt: skip


@pytest.mark.parametrize("who", ["coe_staff", "leader"])
def test_the_api_returns_the_numbers(world: World, who: str, request: pytest.FixtureRequest, client_for: Any) -> None:
    response = client_for(request.getfixturevalue(who)).get(API)
    assert response.status_code == 200
    body = response.json()
    assert body["dashboard"] == "adoption"
    assert set(body["charts"]) == {"adoption", "lag", "policy-reach", "feedback-weekly", "ratings"}
    assert set(body["tables"]) == {"lagging", "feedback-items", "waiting"}
    assert {k["key"]: k["value"] for k in body["kpis"]} == {
        "templates-adopted": 2, "behind": 3, "policy-reach": 2, "threads": 3, "first-response": 4.0,
        "addressed": 26.0, "rating": 3.6667,
    }  # fmt: skip
    assert (body["workloads"], body["adoptions"], body["behind"], body["behind_share"]) == (4, 4, 3, 0.75)
    assert (body["policy_reach"], body["policy_reach_share"]) == (2, 0.5)
    assert body["feedback"] == {
        "threads": 3, "answered": 2, "closed": 1, "median_first_response_hours": 4.0,
        "median_time_to_addressed_hours": 26.0, "ratings": 3, "average_rating": 3.6667,
    }  # fmt: skip
    assert body["tables"]["lagging"]["rows"][0] == [
        "Alpha", "Claims Automation", "Outage runbook", "1.0.0", "2.0.0", "1 major", 2, ago(world, 40).isoformat(),
        40, "adopted",
    ]  # fmt: skip
