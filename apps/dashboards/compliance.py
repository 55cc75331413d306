"""The compliance posture dashboard (CoE staff and leadership): how many workloads meet every control
that applies to them, by policy, risk tier and team; the failing checks; the waivers about to end;
the attestations owed.

Compliance is the state now, over the workloads the filters select (retired ones left out): the
period does not change it. It comes from governance's ``compliance_many`` (the same answer as a
workload's Compliance tab, in a fixed number of queries), ``failing_since`` and one query for the
waivers in force, so the number of queries does not grow with the workloads or their history.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.governance import services as governance
from apps.governance.models import Control, Policy, Waiver
from apps.governance.services import Compliance, ControlStatus, State
from apps.registry.models import LifecycleStage, RiskTier, Workload

from . import charts
from .base import Chart, Dashboard, Kpi, Table, percent
from .filters import Filters

EXPIRING_DAYS = 30  # waivers ending this soon are pointed out

# Why an attestation is due, as the chart of attestation debt stacks it.
REASONS = [
    ("new", "Not attested yet", charts.MUTED),
    ("changed", "Control changed", charts.ACCENT),
    ("expired", "Attestation expired", charts.DANGER),
]


@dataclass
class Tally:
    """Workloads a grouping covers and how many of them are fully compliant."""

    total: int = 0
    compliant: int = 0

    def add(self, compliant: bool) -> None:
        self.total += 1
        self.compliant += compliant

    @property
    def share(self) -> float | None:
        return self.compliant / self.total if self.total else None


# What the dashboard reads of a workload (compliance_many reads the three fields controls apply by).
WORKLOAD_FIELDS = ("name", "slug", "risk_tier", "data_classification", "lifecycle_stage", "team__name", "team__slug")


def _fully_compliant(statuses: Iterable[ControlStatus]) -> bool:
    return all(status.compliant for status in statuses)


class _Controls:
    """What the charts and tables read of each current control, looked up once per control rather than
    once per status: hundreds of workloads share a handful of control instances (``compliance_many``
    gives each status the same one), so they are keyed by identity."""

    def __init__(self) -> None:
        self._policies: dict[int, Policy] = {}
        self._hashes: dict[int, str] = {}

    def policy(self, control: Control) -> Policy:
        if (policy := self._policies.get(id(control))) is None:
            policy = self._policies[id(control)] = control.policy_version.policy
        return policy

    def content_hash(self, control: Control) -> str:
        if (found := self._hashes.get(id(control))) is None:
            found = self._hashes[id(control)] = control.content_hash
        return found

    def reason(self, status: ControlStatus) -> str:
        """Why an attestation is due: never given, the control changed, or the answer expired."""
        if status.attestation is None:
            return "new"
        return "changed" if status.attestation.content_hash != self.content_hash(status.control) else "expired"


def _matrix_url(filters: Filters, **narrower: str) -> str:
    """Governance's compliance matrix of the workloads behind a number (it filters by team, risk tier
    and stage; not by model)."""
    params = {
        "team": filters.team.slug if filters.team else "",
        "risk_tier": filters.risk_tier,
        "lifecycle_stage": filters.stage,
        **narrower,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("governance:compliance-matrix") + (f"?{query}" if query else "")


def _tab_urls() -> Callable[[Workload], str]:
    """Each workload's Compliance tab, reversed once (the tables link hundreds of rows)."""
    pattern = reverse("governance:workload-compliance", args=["-slug-"])
    return lambda workload: pattern.replace("-slug-", workload.slug)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _share(value: float | None) -> float | None:
    """A share as a percentage with one decimal (what the charts and their tables show)."""
    return None if value is None else round(100 * value, 1)


def build(*, user: User, filters: Filters, query: Any = None, **_: Any) -> Dashboard:
    now = timezone.now()
    today = timezone.localdate(now)
    live = filters.workloads().exclude(lifecycle_stage=LifecycleStage.RETIRED)
    workloads = list(live.select_related("team").only(*WORKLOAD_FIELDS).order_by("name", "pk"))
    reports = governance.compliance_many(workloads=workloads, now=now)
    covered = [reports[w.pk] for w in workloads if reports[w.pk].statuses]
    full = {report.workload.pk: _fully_compliant(report.statuses) for report in covered}
    compliant = [r for r in covered if full[r.workload.pk]]
    failing: list[tuple[Workload, ControlStatus]] = []
    due: list[tuple[Workload, ControlStatus]] = []
    for report in covered:
        for status in report.statuses:
            if status.state == State.FAILING:
                failing.append((report.workload, status))
            elif status.state == State.ATTESTATION_DUE:
                due.append((report.workload, status))
    since = governance.failing_since(statuses=[s for _, s in failing])
    in_force = list(
        Waiver.objects.filter(workload__in=[w.pk for w in workloads], status=Waiver.Status.APPROVED, ends_on__gte=today)
        .select_related("policy")
        .order_by("ends_on", "id")
    )
    ending = [w for w in in_force if w.ends_on <= today + timedelta(days=EXPIRING_DAYS)]
    share = len(compliant) / len(covered) if covered else None
    controls = _Controls()

    dashboard = Dashboard(
        name="compliance",
        title="Compliance posture",
        lead="How many workloads meet every control that applies to them, by policy, risk tier and team; the "
        "failing checks, the waivers about to end and the attestations owed.",
        filters=filters,
        notes=[
            "Compliance is the state today, over the workloads the filters select (retired ones left out): the "
            "period does not change it. A workload is fully compliant when every control that applies to it is "
            "passing, attested or waived; "
            + (
                f"{_count(len(workloads) - len(covered), 'workload')} that no control applies to "
                f"{'is' if len(workloads) - len(covered) == 1 else 'are'} left out of the shares."
                if len(workloads) != len(covered)
                else "a control applies to every one of them."
            )
        ],
    )
    waiver_url = reverse("governance:waiver-queue") if user.has_perm("governance.decide_waiver") else ""
    dashboard.kpis = [
        Kpi("compliant", "Workloads fully compliant", percent(share, 0), _ratio(share),
            f"{len(compliant)} of {_count(len(covered), 'workload')} under controls", _matrix_url(filters),
            ("good" if len(compliant) == len(covered) else "bad") if covered else ""),
        Kpi("failing", "Failing controls", str(len(failing)), len(failing),
            f"on {_count(len({w.pk for w, _ in failing}), 'workload')}", "#section-failing",
            "bad" if failing else "good"),
        Kpi("attestation-debt", "Attestations due", str(len(due)), len(due),
            f"on {_count(len({w.pk for w, _ in due}), 'workload')}", "#section-attestation-debt",
            "bad" if due else "good"),
        Kpi("waivers-expiring", f"Waivers ending within {EXPIRING_DAYS} days", str(len(ending)), len(ending),
            f"of {_count(len(in_force), 'waiver')} in force", waiver_url or "#section-waivers-expiring",
            "bad" if ending else ""),
    ]  # fmt: skip
    dashboard.charts = [
        _by_policy(covered, filters, controls),
        _share_chart("by-risk-tier", "Share compliant by risk tier", "Risk tier",
                     _by_risk_tier(covered, full, filters),
                     "Share of the workloads of each risk tier that meet every control that applies to them."),
        _share_chart("by-team", "Share compliant by team", "Team", _by_team(covered, full, filters),
                     "Share of each team's workloads that meet every control that applies to them.", horizontal=True),
        _debt_by_team(covered, due, filters, controls),
    ]  # fmt: skip
    tab = _tab_urls()
    dashboard.tables = [
        _failing_table(failing, since, tab, controls),
        _waivers_table(ending, reports, today, tab),
        _debt_table(due, tab, controls),
    ]
    dashboard.numbers.update(
        as_of=today, workloads=len(workloads), workloads_under_controls=len(covered),
        fully_compliant=len(compliant), compliant_share=_ratio(share), failing_controls=len(failing),
        attestations_due=len(due), waivers_in_force=len(in_force), waivers_expiring=len(ending),
    )  # fmt: skip
    return dashboard


# --- Charts -----------------------------------------------------------------------------------


ShareRow = tuple[str, Tally, str]  # label, tally, the link to the workloads behind it
CATEGORIES = {"autorange": "reversed", "showgrid": False}  # a horizontal chart's names, the first at the top


def _height(bars: int) -> int:
    """A horizontal bar chart's height: room for every label, however many (the box is 320 px at least)."""
    return max(300, 110 + 32 * bars)


def _share_chart(key: str, title: str, column: str, rows: list[ShareRow], description: str,
                 horizontal: bool = False) -> Chart:  # fmt: skip
    """Bars of the share compliant; ``horizontal`` for long names (policies, teams), first at the top."""
    labels = [label for label, _, _ in rows]
    shares = [_share(t.share) for _, t, _ in rows]
    trace = charts.trace("bar",
        x=shares if horizontal else labels, y=labels if horizontal else shares,
        orientation="h" if horizontal else "v", marker={"color": charts.PRIMARY}, name="Fully compliant",
        text=[f"{share:g} %" for share in shares], textposition="outside", cliponaxis=False,
        customdata=[[t.compliant, t.total] for _, t, _ in rows],
        hovertemplate=f"%{{{'y' if horizontal else 'x'}}}: %{{customdata[0]}} of %{{customdata[1]}} workloads fully "
        "compliant<extra></extra>",
    )  # fmt: skip
    # Room past 100 % for the labels, which stand outside the bars so that 0 % shows too.
    ticks = [0, 20, 40, 60, 80, 100]
    axis = {"range": [0, 112], "rangemode": "normal", "tickvals": ticks, "ticktext": [f"{t} %" for t in ticks]}
    if horizontal:
        layout = charts.layout(x_title="Fully compliant", height=_height(len(rows)), margin={"l": 16, "r": 48},
                               xaxis={**axis, "showgrid": True}, yaxis=CATEGORIES)  # fmt: skip
    else:
        layout = charts.layout(y_title="Fully compliant", yaxis=axis)
    return Chart(
        key=key, title=title, figure=charts.figure([trace], layout),
        columns=[column, "Workloads", "Fully compliant", "Share compliant (%)"],
        rows=[[label, t.total, t.compliant, _share(t.share)] for label, t, _ in rows],
        description=description, links=[link for _, _, link in rows], empty="No control applies to these workloads.",
    )  # fmt: skip


def _by_policy(covered: list[Compliance], filters: Filters, controls: _Controls) -> Chart:
    """A workload counts for a policy when at least one of the policy's controls applies to it, and
    is compliant with it when every one of those is."""
    tallies: dict[int, Tally] = defaultdict(Tally)
    titles: dict[int, str] = {}
    for report in covered:
        per_policy: dict[int, bool] = {}  # policy → every one of its controls compliant so far
        for status in report.statuses:
            policy = controls.policy(status.control)
            per_policy[policy.pk] = per_policy.get(policy.pk, True) and status.compliant
            titles[policy.pk] = policy.title
        for pk, compliant in per_policy.items():
            tallies[pk].add(compliant)
    rows = [(titles[pk], tallies[pk], _matrix_url(filters)) for pk in sorted(tallies, key=lambda pk: titles[pk])]
    return _share_chart("by-policy", "Share compliant by policy", "Policy", rows,
                        "Share of the workloads each policy applies to that meet all of its controls.",
                        horizontal=True)  # fmt: skip


def _grouped(covered: list[Compliance], full: dict[int, bool], key: Callable[[Workload], str]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for report in covered:
        tallies[key(report.workload)].add(full[report.workload.pk])
    return tallies


def _by_risk_tier(covered: list[Compliance], full: dict[int, bool], filters: Filters) -> list[ShareRow]:
    tallies = _grouped(covered, full, lambda w: w.risk_tier)
    return [(tier.label, tallies[tier], _matrix_url(filters, risk_tier=tier)) for tier in RiskTier if tier in tallies]


def _by_team(covered: list[Compliance], full: dict[int, bool], filters: Filters) -> list[ShareRow]:
    teams = {report.workload.team.slug: report.workload.team for report in covered}
    tallies = _grouped(covered, full, lambda w: w.team.slug)
    ordered = sorted(teams.values(), key=lambda team: team.name)
    return [(team.name, tallies[team.slug], _matrix_url(filters, team=team.slug)) for team in ordered]


def _debt_by_team(
    covered: list[Compliance], due: list[tuple[Workload, ControlStatus]], filters: Filters, controls: _Controls
) -> Chart:
    teams = {report.workload.team.slug: report.workload.team for report in covered}
    counts: dict[str, dict[str, int]] = {slug: dict.fromkeys((r for r, _, _ in REASONS), 0) for slug in teams}
    for workload, status in due:
        counts[workload.team.slug][controls.reason(status)] += 1
    ordered = sorted(teams.values(), key=lambda team: (-sum(counts[team.slug].values()), team.name))
    names = [team.name for team in ordered]
    traces = [
        charts.trace("bar", y=names, x=[counts[team.slug][reason] for team in ordered], orientation="h", name=label,
                     marker={"color": colour}, hovertemplate=f"%{{y}}: %{{x}} {label.lower()}<extra></extra>")
        for reason, label, colour in REASONS
    ]  # fmt: skip
    most = max((sum(c.values()) for c in counts.values()), default=0)
    layout = charts.layout(
        x_title="Attestations due", barmode="stack", height=_height(len(names)), margin={"l": 16, "t": 40},
        legend={"traceorder": "normal", "y": 1.02, "yanchor": "bottom"}, yaxis=CATEGORIES,
        xaxis={"tickformat": "d", "dtick": max(1, math.ceil(most / 5)), "showgrid": True},
    )  # fmt: skip
    return Chart(
        key="attestation-debt-by-team", title="Attestation debt by team", figure=charts.figure(traces, layout),
        columns=["Team", *(label for _, label, _ in REASONS), "Attestations due"],
        rows=[[team.name, *counts[team.slug].values(), sum(counts[team.slug].values())] for team in ordered],
        description="Attestations each team owes, by why they are due: never given, the control changed in a "
        "new policy version, or the answer expired.",
        links=[_matrix_url(filters, team=team.slug) for team in ordered],
        empty="No control applies to these workloads.",
    )  # fmt: skip


# --- Tables -----------------------------------------------------------------------------------


def _failing_table(
    failing: list[tuple[Workload, ControlStatus]], since: dict[int, Any], tab: Callable[[Workload], str],
    controls: _Controls,
) -> Table:  # fmt: skip
    def started(status: ControlStatus) -> date | None:
        moment = since.get(status.result.pk) if status.result else None
        return timezone.localdate(moment) if moment else None

    rows = sorted(
        ((started(s), w, s) for w, s in failing),
        key=lambda row: (row[0] or date.max, row[1].name, row[2].control.title),
    )
    return Table(
        key="failing", title="Failing controls",
        columns=["Workload", "Team", "Policy", "Control", "Detail", "Failing since"],
        rows=[[w.name, w.team.name, controls.policy(s.control).title, s.control.title, s.detail, day]
              for day, w, s in rows],
        links=[tab(w) for _, w, _ in rows],
        description="Automated checks failing now (and not waived), the longest failing first; each workload leads "
        "to its Compliance tab.",
        empty="No control is failing.",
    )  # fmt: skip


def _waivers_table(
    ending: list[Waiver], reports: dict[int, Compliance], today: date, tab: Callable[[Workload], str]
) -> Table:
    rows, links = [], []
    for waiver in ending:
        workload = reports[waiver.workload_id].workload
        status = next(
            (s for s in reports[waiver.workload_id].statuses
             if s.control.key == waiver.control_key and s.control.policy_version.policy_id == waiver.policy_id),
            None,
        )  # fmt: skip
        if status is None:
            control, underneath = waiver.control_key, "No longer applies"
        else:
            control = status.control.title
            waived = status.waiver is not None and status.waiver.pk == waiver.pk
            underneath = State.LABELS[status.real_state] if waived else status.label
        rows.append([workload.name, workload.team.name, waiver.policy.title, control, waiver.ends_on,
                     (waiver.ends_on - today).days, underneath])  # fmt: skip
        links.append(tab(workload))
    return Table(
        key="waivers-expiring", title=f"Waivers ending within {EXPIRING_DAYS} days",
        columns=["Workload", "Team", "Policy", "Control", "Ends on", "Days left", "Underneath"],
        rows=rows, links=links,
        description="Approved waivers about to end, the soonest first, and the control's own state that counts "
        "again once each ends.",
        empty=f"No waiver ends within {EXPIRING_DAYS} days.",
    )  # fmt: skip


def _debt_table(
    due: list[tuple[Workload, ControlStatus]], tab: Callable[[Workload], str], controls: _Controls
) -> Table:
    rows = sorted(due, key=lambda ws: (ws[0].name, controls.policy(ws[1].control).title, ws[1].control.title))
    return Table(
        key="attestation-debt", title="Attestation debt",
        columns=["Workload", "Team", "Policy", "Control", "Why due"],
        rows=[[w.name, w.team.name, controls.policy(s.control).title, s.control.title, s.detail] for w, s in rows],
        links=[tab(w) for w, _ in rows],
        description="Attestation controls that apply and have no valid answer (and no waiver).",
        empty="No attestation is due.",
    )  # fmt: skip
