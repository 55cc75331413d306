"""``compliance_many``: the same answer as ``compliance()`` for every workload, in a number of queries
that does not grow with the workloads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.governance import services
from apps.governance.models import Attestation, CheckResult, ComplianceScore, Control, PolicyVersion, Waiver
from apps.governance.services import State
from apps.registry.models import Workload
from tests.factories import TeamFactory
from tests.registry.factories import WorkloadFactory

pytestmark = pytest.mark.django_db


def publish(coe: User, *, title: str, controls: list[dict], previous: PolicyVersion | None = None,
            number: str = "1.0.0") -> PolicyVersion:  # fmt: skip
    policy = previous.policy if previous else services.policy_create(
        actor=coe, title=title, category="security_governance", summary=f"{title}."
    )  # fmt: skip
    version = services.policy_version_create(actor=coe, policy=policy, number=number, body=f"# {title}")
    for fields in controls:
        services.control_add(actor=coe, version=version, **fields)
    return services.policy_version_publish(actor=coe, version=version)


REVIEW = {"key": "human-review", "title": "Human review", "statement": "A person reviews every decision.",
          "kind": "attestation", "risk_tiers": ["high"]}  # fmt: skip
LATENCY = {"key": "latency", "title": "Latency within objective", "statement": "p95 meets the objective.",
           "kind": "automated", "metric": "p95_latency_ms", "operator": "<=",
           "threshold_source": "objective_p95_latency_ms", "risk_tiers": ["high", "limited"]}  # fmt: skip
BUDGET = {"key": "budget", "title": "Within budget", "statement": "Monthly cost stays within budget.",
          "kind": "automated", "metric": "monthly_cost", "operator": "<=",
          "threshold_source": "monthly_budget"}  # fmt: skip
OWNER = {"key": "cost-owner", "title": "Cost owner named", "statement": "Someone answers for the cost.",
         "kind": "attestation", "attestation_valid_days": 30}  # fmt: skip


NOW = timezone.now()


def result(workload: Workload, control: Control, state: str, *, hours_ago: float, detail: str = "") -> CheckResult:
    made = CheckResult.objects.create(workload=workload, control=control, state=state, detail=detail or state)
    CheckResult.objects.filter(pk=made.pk).update(evaluated_at=NOW - timedelta(hours=hours_ago))
    return made


def waive(workload: Workload, control: Control, *, team_member: User, coe: User, days: int,
          approve: bool = True) -> Waiver:  # fmt: skip
    waiver = services.waiver_request(actor=team_member, workload=workload, control=control, justification="For now.",
                                     ends_on=timezone.localdate() + timedelta(days=days))  # fmt: skip
    return services.waiver_decide(actor=coe, waiver=waiver, approve=approve, comment="" if approve else "No.")


@pytest.fixture
def portfolio(coe_staff: User, team_member: User, team) -> dict[str, Workload]:  # type: ignore[no-untyped-def]
    """Workloads in every state a control can be in, across two policies and a policy version that
    changed one control."""
    other = TeamFactory(name="Payments AI", slug="payments-ai")
    make = WorkloadFactory
    w = {
        "attested_then_changed": make(name="Claims Triage", team=team, risk_tier="high", lifecycle_stage="production",
                                      objective_p95_latency_ms=2000),
        "attested": make(name="Fraud Screen", team=team, risk_tier="high", lifecycle_stage="pilot",
                         objective_p95_latency_ms=1500),
        "limited": make(name="Letter Drafts", team=other, risk_tier="limited", objective_p95_latency_ms=900,
                        monthly_budget=Decimal("500")),
        "minimal": make(name="Lunch Menu Bot", team=other, risk_tier="minimal", monthly_budget=None),
        "retired": make(name="Old Bot", team=team, risk_tier="high", lifecycle_stage="retired"),
    }  # fmt: skip
    oversight = publish(coe_staff, title="Human oversight", controls=[REVIEW, LATENCY])
    cost = publish(coe_staff, title="Cost control", controls=[BUDGET, OWNER])
    review_v1 = oversight.controls.get(key="human-review")
    latency_v1 = oversight.controls.get(key="latency")
    owner = cost.controls.get(key="cost-owner")
    budget = cost.controls.get(key="budget")

    # Attested under 1.0.0; 2.0.0 changes the review control, so the first must attest again.
    services.attest(actor=team_member, workload=w["attested_then_changed"], control=review_v1, answer="Yes.")
    oversight_v2 = publish(coe_staff, title="Human oversight", previous=oversight, number="2.0.0",
                           controls=[{**REVIEW, "statement": "A person reviews every decision within a day."},
                                     LATENCY])  # fmt: skip
    review_v2 = oversight_v2.controls.get(key="human-review")
    latency_v2 = oversight_v2.controls.get(key="latency")
    services.attest(actor=team_member, workload=w["attested"], control=review_v2, answer="Older answer.")
    services.attest(actor=team_member, workload=w["attested"], control=review_v2, answer="Newer answer.")

    # Cost owner: attested and valid; attested and expired; never attested (minimal, limited waived).
    services.attest(actor=team_member, workload=w["attested"], control=owner, answer="Fin. ops.")
    expired = services.attest(actor=team_member, workload=w["attested_then_changed"], control=owner, answer="Us.")
    Attestation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=2))

    # Latency: the newest result wins, whichever version evaluated it (ties: the later row).
    result(w["attested_then_changed"], latency_v1, "failing", hours_ago=30)
    result(w["attested_then_changed"], latency_v2, "passing", hours_ago=6)
    result(w["attested"], latency_v2, "passing", hours_ago=50)
    result(w["attested"], latency_v2, "failing", hours_ago=2, detail="p95_latency_ms = 2300 (breaks <= 1500)")
    result(w["limited"], latency_v2, "failing", hours_ago=5)
    result(w["limited"], latency_v1, "not_evaluated", hours_ago=5, detail="No p95 latency (ms) measured yet.")
    # Budget: failing and waived; passing with a waiver (stays passing); never evaluated.
    result(w["limited"], budget, "failing", hours_ago=1, detail="monthly_cost = 612 (breaks <= 500)")
    result(w["attested"], budget, "passing", hours_ago=1)
    result(w["retired"], budget, "failing", hours_ago=1)
    waive(w["limited"], budget, team_member=team_member, coe=coe_staff, days=20)
    waive(w["attested"], budget, team_member=team_member, coe=coe_staff, days=20)
    # Cost owner of the limited workload: an expired waiver, then a rejected one: not waived.
    old = waive(w["limited"], owner, team_member=team_member, coe=coe_staff, days=5)
    Waiver.objects.filter(pk=old.pk).update(ends_on=timezone.localdate() - timedelta(days=1))
    waive(w["limited"], owner, team_member=team_member, coe=coe_staff, days=5, approve=False)
    # Minimal: the cost owner waived (two approved waivers: the newer counts).
    waive(w["minimal"], owner, team_member=team_member, coe=coe_staff, days=3)
    Waiver.objects.create(workload=w["minimal"], policy=owner.policy_version.policy, control_key="cost-owner",
                          justification="Again.", ends_on=timezone.localdate() + timedelta(days=40),
                          status=Waiver.Status.APPROVED)  # fmt: skip
    return w


EXPECTED = {
    # workload: {(policy, control key): (state, real state under a waiver)}
    "attested_then_changed": {
        ("human-oversight", "human-review"): (State.ATTESTATION_DUE, ""),
        ("human-oversight", "latency"): (State.PASSING, ""),
        ("cost-control", "budget"): (State.NOT_EVALUATED, ""),
        ("cost-control", "cost-owner"): (State.ATTESTATION_DUE, ""),
    },
    "attested": {
        ("human-oversight", "human-review"): (State.ATTESTED, ""),
        ("human-oversight", "latency"): (State.FAILING, ""),
        ("cost-control", "budget"): (State.PASSING, ""),
        ("cost-control", "cost-owner"): (State.ATTESTED, ""),
    },
    "limited": {
        ("human-oversight", "latency"): (State.NOT_EVALUATED, ""),
        ("cost-control", "budget"): (State.WAIVED, State.FAILING),
        ("cost-control", "cost-owner"): (State.ATTESTATION_DUE, ""),
    },
    "minimal": {
        ("cost-control", "budget"): (State.NOT_EVALUATED, ""),
        ("cost-control", "cost-owner"): (State.WAIVED, State.ATTESTATION_DUE),
    },
    "retired": {},
}


def states(report: services.Compliance) -> dict[tuple[str, str], tuple[str, str]]:
    return {(s.control.policy_version.policy.slug, s.control.key): (s.state, s.real_state) for s in report.statuses}


def test_it_gives_what_compliance_gives_for_every_workload(portfolio) -> None:
    many = services.compliance_many(workloads=Workload.objects.order_by("pk"))
    assert set(many) == {w.pk for w in portfolio.values()}
    for name, workload in portfolio.items():
        one = services.compliance(workload=workload)
        assert states(one) == EXPECTED[name], name  # the setup is as varied as it says
        assert many[workload.pk].statuses == one.statuses, name
        assert [s.detail for s in many[workload.pk].statuses] == [s.detail for s in one.statuses]
        assert many[workload.pk].score == one.score
    attested = many[portfolio["attested"].pk].statuses
    assert attested[0].attestation.answer == "Newer answer."
    assert attested[1].detail == "p95_latency_ms = 2300 (breaks <= 1500)"
    changed = many[portfolio["attested_then_changed"].pk].statuses
    assert changed[0].detail == "The control changed in v2.0.0; attest again."
    assert changed[-1].detail.startswith("The attestation expired on ")
    minimal = many[portfolio["minimal"].pk].statuses
    assert minimal[-1].waiver.justification == "Again."
    assert minimal[-1].detail == f"Waived until {services._day(timezone.localdate() + timedelta(days=40))}."
    assert many[portfolio["limited"].pk].score == pytest.approx(1 / 3)
    assert services.compliance_scores(workloads=Workload.objects.order_by("pk")) == counted(many)


def counted(reports: dict[int, services.Compliance]) -> dict[int, tuple[int, int]]:
    """What compliance_scores should answer: each report's compliant statuses and all of them."""
    return {pk: (sum(s.compliant for s in r.statuses), len(r.statuses)) for pk, r in reports.items()}


def test_scores_count_what_compliance_many_gives(portfolio) -> None:
    scores = services.compliance_scores(workloads=list(portfolio.values()))
    assert scores[portfolio["limited"].pk] == (1, 3)
    assert scores[portfolio["retired"].pk] == (0, 0)  # no control applies
    assert len(set(scores.values())) > 3  # the setup gives varied counts


def test_it_agrees_at_another_moment(portfolio) -> None:
    """Forty days on: attestations valid for 30 days have expired, and so have the 20-day waivers."""
    later = timezone.now() + timedelta(days=40)
    many = services.compliance_many(workloads=list(portfolio.values()), now=later)
    for name, workload in portfolio.items():
        assert many[workload.pk].statuses == services.compliance(workload=workload, now=later).statuses, name
    assert services.compliance_scores(workloads=list(portfolio.values()), now=later) == counted(many)
    assert states(many[portfolio["limited"].pk])[("cost-control", "budget")] == (State.FAILING, "")
    assert states(many[portfolio["attested"].pk])[("cost-control", "cost-owner")] == (State.ATTESTATION_DUE, "")
    assert states(many[portfolio["minimal"].pk])[("cost-control", "cost-owner")] == (
        State.WAIVED, State.ATTESTATION_DUE,
    )  # fmt: skip


def test_its_queries_do_not_grow_with_the_workloads(portfolio, django_assert_num_queries) -> None:
    policy = Control.objects.get(key="budget").policy_version
    budget = policy.controls.get(key="budget")
    extra = [WorkloadFactory(name=f"Extra {i}", risk_tier="limited", monthly_budget=Decimal(100)) for i in range(8)]
    for i, workload in enumerate(extra):
        result(workload, budget, "failing" if i % 2 else "passing", hours_ago=i + 1)
    two = list(Workload.objects.filter(pk__in=[portfolio["attested"].pk, portfolio["limited"].pk]))
    ten = [*two, *extra]
    with django_assert_num_queries(5):
        assert len(services.compliance_many(workloads=two)) == 2
    with django_assert_num_queries(5):
        reports = services.compliance_many(workloads=ten)
    assert [states(reports[w.pk])[("cost-control", "budget")][0] for w in extra] == [
        State.PASSING, State.FAILING, State.PASSING, State.FAILING,
        State.PASSING, State.FAILING, State.PASSING, State.FAILING,
    ]  # fmt: skip


def test_no_workloads_no_queries(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        assert services.compliance_many(workloads=[]) == {}
        assert services.compliance_scores(workloads=[]) == {}


def test_scores_queries_do_not_grow_with_the_workloads(portfolio, django_assert_num_queries) -> None:
    workloads = list(Workload.objects.order_by("pk"))
    with django_assert_num_queries(5):
        services.compliance_scores(workloads=workloads[:2])
    with django_assert_num_queries(5):
        services.compliance_scores(workloads=workloads)


def test_one_automated_control_and_no_attestation_control(coe_staff: User) -> None:
    budget = publish(coe_staff, title="Cost control", controls=[BUDGET]).controls.get()
    workloads = [WorkloadFactory(name=f"Solo {i}", monthly_budget=Decimal(10)) for i in range(3)]
    result(workloads[0], budget, "failing", hours_ago=1)
    result(workloads[1], budget, "passing", hours_ago=1)
    reports = services.compliance_many(workloads=workloads)
    assert [[s.state for s in reports[w.pk].statuses] for w in workloads] == [
        [State.FAILING], [State.PASSING], [State.NOT_EVALUATED],
    ]  # fmt: skip
    for workload in workloads:
        assert reports[workload.pk].statuses == services.compliance(workload=workload).statuses


def test_failing_since_follows_the_run_across_versions(portfolio, django_assert_num_queries) -> None:
    def latency(number: str) -> Control:
        return Control.objects.get(key="latency", policy_version__number=number)

    v1, v2 = latency("1.0.0"), latency("2.0.0")
    across = WorkloadFactory(name="Across Versions", risk_tier="high", objective_p95_latency_ms=1000)
    for control, state, hours in [(v1, "failing", 40), (v1, "passing", 35), (v1, "failing", 30),
                                  (v2, "failing", 10), (v2, "failing", 2)]:  # fmt: skip
        result(across, control, state, hours_ago=hours)
    result(portfolio["attested_then_changed"], v2, "failing", hours_ago=3)  # after passing 6 hours ago
    workloads = [across, *portfolio.values()]
    reports = services.compliance_many(workloads=workloads)
    statuses = [s for w in workloads for s in reports[w.pk].statuses]
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 2):  # one statement on PostgreSQL
        since = services.failing_since(statuses=statuses)
    newest = {(s.result.workload.name, s.control.key): s.result.pk for s in statuses if s.state == State.FAILING}
    assert {key: since[pk] for key, pk in newest.items()} == {
        ("Across Versions", "latency"): NOW - timedelta(hours=30),
        ("Claims Triage", "latency"): NOW - timedelta(hours=3),
        ("Fraud Screen", "latency"): NOW - timedelta(hours=2),
    }
    # A waived failing check has its run too (the dashboards say what lies under a waiver).
    limited = next(s for s in reports[portfolio["limited"].pk].statuses if s.control.key == "budget")
    assert since[limited.result.pk] == NOW - timedelta(hours=1)


def test_a_tie_goes_to_the_later_row_whichever_version_wrote_it(portfolio) -> None:
    """Two results of one key at the same instant, from two versions: the later row is the newest, in
    compliance() and compliance_many alike (and whatever order the versions are probed in)."""
    latency = {c.policy_version.number: c for c in Control.objects.filter(key="latency")}
    workload = portfolio["attested_then_changed"]
    at = NOW - timedelta(minutes=5)
    for control, state in [(latency["2.0.0"], "passing"), (latency["1.0.0"], "failing")]:
        made = CheckResult.objects.create(workload=workload, control=control, state=state, detail=f"tie {state}")
        CheckResult.objects.filter(pk=made.pk).update(evaluated_at=at)
    one = services.compliance(workload=workload)
    many = services.compliance_many(workloads=[workload])[workload.pk]
    assert states(one)[("human-oversight", "latency")] == (State.FAILING, "")
    assert many.statuses == one.statuses
    assert [s.detail for s in many.statuses] == [s.detail for s in one.statuses]


def test_failing_since_a_check_that_never_passed(portfolio) -> None:
    """No result before the run that was not failing: the run began with the first result of all."""
    budget = Control.objects.get(key="budget")
    never = WorkloadFactory(name="Never Passed", risk_tier="limited", monthly_budget=Decimal(1))
    for hours in (30, 20, 10):
        result(never, budget, "failing", hours_ago=hours)
    (status,) = [s for s in services.compliance_many(workloads=[never])[never.pk].statuses if s.result]
    assert services.failing_since(statuses=[status]) == {status.result.pk: NOW - timedelta(hours=30)}
    assert services.failing_since(statuses=[]) == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL statements; elsewhere the ORM runs")
def test_the_postgresql_statements_agree_with_the_orm_queries(portfolio) -> None:
    """On PostgreSQL compliance_many and failing_since run one statement each where other databases run
    the ORM's queries (which the other tests check on SQLite): both give the same answer here."""
    v1, v2 = (Control.objects.get(key="latency", policy_version__number=n) for n in ("1.0.0", "2.0.0"))
    across = WorkloadFactory(name="Across Versions", risk_tier="high", objective_p95_latency_ms=1000)
    for control, state, hours in [(v1, "failing", 40), (v1, "passing", 35), (v1, "failing", 30),
                                  (v2, "failing", 10), (v2, "failing", 2)]:  # fmt: skip
        result(across, control, state, hours_ago=hours)
    workloads = list(Workload.objects.order_by("pk"))
    controls = list(services.current_controls())
    applicable = {pk: found for pk, found in services._applicable_many(workloads, controls).items() if found}
    versions = services._versions(controls)
    keys = [[c.pk for c in cs] for cs in versions.values() if any(c.kind == Control.Kind.AUTOMATED for c in cs)]

    def rows(found) -> set[tuple]:  # type: ignore[no-untyped-def]
        return {(r.pk, r.workload_id, r.control_id, r.state, r.detail, r.evaluated_at) for r in found}

    loaded = services._newest_results_sql(applicable, versions)
    by_sql = rows(loaded)
    assert by_sql == rows(services._newest_results_orm(list(applicable), keys))
    assert len(by_sql) == 6  # every (workload, key) that applies and has a result; the retired one left out
    # Loaded as from_db would load them: from the database, the evidence deferred and read on access.
    stored = {r.pk: r for r in CheckResult.objects.filter(pk__in=[r.pk for r in loaded])}
    for made in loaded:
        assert (made._state.adding, made._state.db, made.get_deferred_fields()) == (False, "default", {"observed"})
        assert made == stored[made.pk]
        assert (made.workload, made.control) == (stored[made.pk].workload, stored[made.pk].control)
        assert made.observed == stored[made.pk].observed

    reports = services.compliance_many(workloads=workloads)
    failing = [s for r in reports.values() for s in r.statuses if s.result and s.result.state == State.FAILING]
    assert len(failing) == 3
    since = services._failing_since_sql(failing)
    assert since == services._failing_since_orm(failing)
    assert sorted(since.values()) == [NOW - timedelta(hours=30), NOW - timedelta(hours=2), NOW - timedelta(hours=1)]
    assert sorted(services._newest_result_states(applicable, versions)) == sorted(
        (r.workload_id, r.control_id, r.state) for r in loaded
    )
    assert services.compliance_scores(workloads=workloads) == counted(reports)


# --- Stored counts (``ComplianceScore``): what the portfolio reads ---------------------------------


def test_the_refresh_stores_every_workloads_count(portfolio) -> None:
    workloads = list(Workload.objects.order_by("pk"))
    assert services.compliance_scores_refresh(now=NOW) == len(workloads)
    stored = {row.workload_id: (row.compliant, row.applicable) for row in ComplianceScore.objects.all()}
    assert stored == services.compliance_scores(workloads=workloads, now=NOW)
    assert stored[portfolio["retired"].pk] == (0, 0)
    assert set(ComplianceScore.objects.values_list("refreshed_at", flat=True)) == {NOW}


def test_a_refresh_replaces_the_previous_counts(portfolio) -> None:
    services.compliance_scores_refresh(now=NOW - timedelta(minutes=5))
    limited = portfolio["limited"]
    latency = Control.objects.get(key="latency", policy_version__is_current=True)
    result(limited, latency, "passing", hours_ago=0)  # was failing: one more control compliant
    services.compliance_scores_refresh(now=NOW)
    assert ComplianceScore.objects.count() == Workload.objects.count()
    assert ComplianceScore.objects.get(workload=limited).compliant == 2
    assert set(ComplianceScore.objects.values_list("refreshed_at", flat=True)) == {NOW}


def test_fresh_stored_counts_are_read_in_one_query(portfolio, django_assert_num_queries) -> None:
    services.compliance_scores_refresh(now=NOW - timedelta(minutes=4))
    # Stored, so a change since shows at the next refresh only: that is the trade.
    result(portfolio["limited"], Control.objects.get(key="latency", policy_version__is_current=True), "passing",
           hours_ago=0)  # fmt: skip
    workloads = list(Workload.objects.order_by("pk"))
    with django_assert_num_queries(1):
        scores, as_of = services.stored_compliance_scores(workloads=workloads, now=NOW)
    assert as_of == NOW - timedelta(minutes=4)
    assert scores[portfolio["limited"].pk] == (1, 3)
    assert services.compliance_scores(workloads=workloads, now=NOW)[portfolio["limited"].pk] == (2, 3)


def test_missing_or_stale_counts_are_counted_live(portfolio, django_assert_num_queries) -> None:
    workloads = list(Workload.objects.order_by("pk"))
    live = services.compliance_scores(workloads=workloads, now=NOW)
    with django_assert_num_queries(6):  # none stored: the stored read, then the live count
        assert services.stored_compliance_scores(workloads=workloads, now=NOW) == (live, None)
    services.compliance_scores_refresh(now=NOW - services.SCORES_FRESH_FOR - timedelta(seconds=1))
    assert services.stored_compliance_scores(workloads=workloads, now=NOW) == (live, None)  # too old
    services.compliance_scores_refresh(now=NOW - timedelta(minutes=1))
    newcomer = WorkloadFactory(name="Newcomer", risk_tier="limited", monthly_budget=Decimal(100))
    scores, as_of = services.stored_compliance_scores(workloads=[*workloads, newcomer], now=NOW)
    assert as_of == NOW - timedelta(minutes=1)
    assert scores == {**live, newcomer.pk: services.compliance_scores(workloads=[newcomer], now=NOW)[newcomer.pk]}
    assert scores[newcomer.pk][1] > 0  # controls apply to it, counted live


def test_the_beat_task_refreshes_the_counts(portfolio) -> None:
    from apps.governance.tasks import compliance_scores_refresh_task

    compliance_scores_refresh_task()
    assert ComplianceScore.objects.count() == Workload.objects.count()
    entry = settings.CELERY_BEAT_SCHEDULE["compliance-scores"]
    assert entry["task"] == compliance_scores_refresh_task.name
    assert entry["schedule"] == 5 * 60  # what the portfolio's note and SCORES_FRESH_FOR assume
    assert timedelta(seconds=entry["schedule"]) < services.SCORES_FRESH_FOR
