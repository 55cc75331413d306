"""The guidance adoption and feedback dashboard (CoE staff and leadership): which workloads use the
CoE's templates and how far they lag behind the current versions, how far each policy reaches, and
how the feedback loop is doing (volume, time to first response and to addressed, ratings).

Adoption, lag and reach are as they stand now, over the workloads the filters select (retired
ones left out); feedback counts the threads opened in the period, across the organisation (it is
about guidance, not workloads). Everything comes from a fixed number of queries: the registry's
bulk ``adopters_of``, the library's ``versions_published``, the current policies and controls, and
the feedback app's metrics.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import VersionState
from apps.feedback import selectors as feedback
from apps.feedback.models import Subject, Thread
from apps.governance.models import PolicyVersion
from apps.governance.services import current_controls
from apps.library.models import Template
from apps.library.selectors import versions_published
from apps.registry.adoption import Adopter, adopters_of
from apps.registry.models import LifecycleStage, Workload

from . import charts
from .base import Chart, Dashboard, Kpi, Table, percent
from .filters import Filters

WAITING_SHOWN = 10
# What the dashboard reads of a workload: the adopters' names and teams, and what policies apply by.
WORKLOAD_FIELDS = ("name", "slug", "risk_tier", "data_classification", "lifecycle_stage", "team__name", "team__slug")
Semver = tuple[int, int, int]

# How long an adopter has been behind (since a newer version of what it uses came out).
LAG_BANDS = [(30, "Under 30 days"), (90, "30–89 days"), (180, "90–179 days"), (None, "180 days or more")]
GAPS = [
    ("major", "Major versions behind", charts.DANGER),
    ("minor", "Minor versions behind", charts.ACCENT),
    ("patch", "Patches behind", charts.PRIMARY),
    ("withdrawn", "Version withdrawn", charts.MUTED),
]


@dataclass(frozen=True)
class Published:
    """A published (possibly since deprecated) version, as the lag is measured against it."""

    semver: Semver
    number: str
    published_at: datetime
    is_current: bool


@dataclass
class Lag:
    """One adopter (a workload's use of a template) measured against the template's history."""

    adopter: Adopter
    current: Published | None
    behind_since: datetime | None  # when a newer version came out (or the one in use was withdrawn)
    versions_behind: int
    gap: str  # major, minor, patch, withdrawn; "" when on the current version
    gap_size: int

    @property
    def is_behind(self) -> bool:
        return self.adopter.is_behind

    @property
    def template(self) -> Template:
        return self.adopter.version.template

    def days_behind(self, now: datetime) -> int | None:
        return (now - self.behind_since).days if self.behind_since else None

    @property
    def gap_label(self) -> str:
        if self.gap == "withdrawn":
            return "withdrawn"
        return f"{self.gap_size} {self.gap}" if self.gap else ""


def _semver(version: Any) -> Semver:
    return (version.major, version.minor, version.patch)


def measure(adopters: list[Adopter]) -> list[Lag]:
    """Each adopter's lag: the current version, how many published versions came after the one it
    uses, the biggest step between them and since when it has been behind. One query."""
    history: dict[int, list[Published]] = defaultdict(list)
    found = versions_published(template_ids={a.version.template_id for a in adopters}).values_list(
        "template_id", "major", "minor", "patch", "number", "published_at", "is_current"
    )
    for template_id, major, minor, patch, number, published_at, is_current in found:
        history[template_id].append(Published((major, minor, patch), number, published_at, is_current))
    # The lag depends on the version in use only: measured once per version, however many adopt it.
    measured: dict[int, tuple[Published | None, datetime | None, int, str, int]] = {}
    lags = []
    for adopter in adopters:
        if (found := measured.get(adopter.version.pk)) is None:
            found = measured[adopter.version.pk] = _measure(adopter, history[adopter.version.template_id])
        lags.append(Lag(adopter, *found))
    return lags


def _measure(adopter: Adopter, versions: list[Published]) -> tuple[Published | None, datetime | None, int, str, int]:
    """The current version, since when the version in use is behind, how many came after it, the gap and its size."""
    used = _semver(adopter.version)
    current = next((v for v in versions if v.is_current), None)
    newer = [v for v in versions if v.semver > used and (current is None or v.semver <= current.semver)]
    since = min((v.published_at for v in newer), default=None)
    gap, size = "", 0
    if adopter.is_behind:
        if current is not None and current.semver > used:
            level = next(i for i in range(3) if current.semver[i] != used[i])
            gap, size = ("major", "minor", "patch")[level], current.semver[level] - used[level]
        else:  # the version in use was deprecated and nothing above it is current
            gap, since = "withdrawn", since or adopter.version.deprecated_at
    return current, since if adopter.is_behind else None, len(newer), gap, size


def _period(filters: Filters) -> tuple[datetime, datetime]:
    """The period as instants: from the first day's midnight (UTC) to the midnight after the last."""
    start = datetime.combine(filters.start, time.min, tzinfo=UTC)
    return start, datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=UTC)


def build(*, user: User, filters: Filters, query: Any = None, **_: Any) -> Dashboard:
    now = timezone.now()
    start, end = _period(filters)
    live = filters.workloads().exclude(lifecycle_stage=LifecycleStage.RETIRED)
    workloads = list(live.select_related("team").only(*WORKLOAD_FIELDS))
    lags = measure(adopters_of(workloads=workloads))
    behind = [lag for lag in lags if lag.is_behind]
    reach = _reach(workloads)
    reached = set().union(*(ids for _, ids in reach)) if reach else set()
    times = feedback.response_times(start=start, end=end)
    ratings, average_rating = feedback.rating_summary(start=start, end=end)
    items = feedback.per_guidance_item(start=start, end=end)
    weekly = feedback.threads_per_week(start=start, end=end)
    waiting = feedback.threads_awaiting_response(limit=WAITING_SHOWN)  # the triage queue's order: longest wait first

    templates = {lag.template.pk for lag in lags}
    adopting = {lag.adopter.workload.pk for lag in lags}
    behind_share = len(behind) / len(lags) if lags else None
    reach_share = len(reached) / len(workloads) if workloads else None
    dashboard = Dashboard(
        name="adoption",
        title="Guidance adoption and feedback",
        lead="Which workloads use the CoE's templates and how far they lag behind the current versions, how far "
        "each policy reaches, and how the feedback loop is doing.",
        filters=filters,
        notes=[
            "Adoption, lag and policy reach are as they stand today, over the workloads the filters select "
            "(retired ones left out). Feedback counts the threads opened in the period, from every team: it is "
            "about guidance, so the team, risk-tier, stage and model filters do not narrow it."
        ],
    )
    dashboard.kpis = [
        Kpi("templates-adopted", "Templates adopted", str(len(templates)), len(templates),
            f"by {len(adopting)} of {len(workloads)} workloads", "#section-adoption"),
        Kpi("behind", "Adopters behind the current version", str(len(behind)), len(behind),
            f"{percent(behind_share, 0)} of {len(lags)} adoptions" if lags else "no adoptions",
            "#section-lagging", ("bad" if behind else "good") if lags else ""),
        Kpi("policy-reach", "Workloads under a policy", str(len(reached)), len(reached),
            f"{percent(reach_share, 0)} of {len(workloads)} workloads" if workloads else "no workloads",
            "#section-policy-reach"),
        Kpi("threads", "Feedback threads opened", str(times.threads), times.threads,
            f"{times.threads - times.closed} still open", "#section-feedback-weekly"),
        Kpi("first-response", "Median hours to a first CoE response", _hours(times.median_first_response_hours),
            times.median_first_response_hours, f"{times.answered} of {times.threads} answered",
            "#section-waiting"),
        Kpi("addressed", "Median hours to addressed", _hours(times.median_time_to_addressed_hours),
            times.median_time_to_addressed_hours, "threads opened in the period and addressed",
            "#section-feedback-items"),
        Kpi("rating", "Average effectiveness rating (1–5)",
            f"{average_rating:.2f}" if average_rating is not None else "—", _ratio(average_rating),
            f"from {ratings} rating{'s' if ratings != 1 else ''}", "#section-ratings"),
    ]  # fmt: skip
    dashboard.charts = [
        _adoption_chart(lags),
        _lag_chart(behind, now),
        _reach_chart(reach, len(workloads)),
        _weekly_chart(weekly, start.date(), filters.end),
        _rating_chart(items),
    ]
    dashboard.tables = [_lagging_table(behind, now), _items_table(items), _waiting_table(waiting, now)]
    dashboard.numbers.update(
        workloads=len(workloads), adoptions=len(lags), adopting_workloads=len(adopting),
        templates_adopted=len(templates), behind=len(behind), behind_share=_ratio(behind_share),
        policy_reach=len(reached), policy_reach_share=_ratio(reach_share),
        feedback={
            "threads": times.threads, "answered": times.answered, "closed": times.closed,
            "median_first_response_hours": times.median_first_response_hours,
            "median_time_to_addressed_hours": times.median_time_to_addressed_hours,
            "ratings": ratings, "average_rating": _ratio(average_rating),
        },
    )  # fmt: skip
    return dashboard


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g} h"


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _reach(workloads: list[Workload]) -> list[tuple[PolicyVersion, set[int]]]:
    """Each current policy version and the workloads at least one of its controls applies to. A
    control reads only a workload's risk tier, data classification and stage, so each distinct
    combination is checked once."""
    policies = list(
        PolicyVersion.objects.filter(is_current=True, state=VersionState.PUBLISHED)
        .select_related("policy")
        .order_by("policy__title")
    )
    controls = defaultdict(list)
    for control in current_controls():
        controls[control.policy_version_id].append(control)
    kinds: dict[tuple[str, str, str], list[Workload]] = defaultdict(list)
    for w in workloads:
        kinds[(w.risk_tier, w.data_classification, w.lifecycle_stage)].append(w)
    reach = []
    for version in policies:
        ids: set[int] = set()
        for group in kinds.values():
            if any(control.applies_to(group[0]) for control in controls[version.pk]):
                ids.update(w.pk for w in group)
        reach.append((version, ids))
    return reach


# --- Charts --------------------------------------------------------------------------------------

LEGEND_ON_TOP = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"}


def _height(bars: int) -> int:
    """A horizontal bar chart's height: room for each bar, the axis and its title."""
    return max(260, 32 * bars + 130)


def _counts(top: int) -> dict[str, Any]:
    """An axis of whole numbers: one tick per unit while they are few (Plotly would show halves)."""
    return {"dtick": 1, "tick0": 0} if top <= 10 else {}


def _template_url(template: Any) -> str:
    return reverse("library:template-detail", args=[template.slug])


def _adoption_chart(lags: list[Lag]) -> Chart:
    per: dict[int, list[Lag]] = defaultdict(list)
    for lag in lags:
        per[lag.template.pk].append(lag)
    groups = sorted(per.values(), key=lambda g: (-len(g), g[0].template.title.lower()))
    titles = [g[0].template.title for g in groups]
    on_current = [sum(1 for lag in g if not lag.is_behind) for g in groups]
    lagging = [sum(1 for lag in g if lag.is_behind) for g in groups]
    figure = charts.figure(
        [charts.trace("bar", name="On the current version", x=on_current, y=titles, orientation="h",
                marker={"color": charts.SUCCESS}, hovertemplate="%{x} on the current version<extra>%{y}</extra>"),
         charts.trace("bar", name="Behind", x=lagging, y=titles, orientation="h", marker={"color": charts.DANGER},
                hovertemplate="%{x} behind<extra>%{y}</extra>")],
        charts.layout(x_title="Workloads", barmode="stack", height=_height(len(groups)), legend=LEGEND_ON_TOP,
                      margin={"t": 40, "b": 72}, xaxis=_counts(max((len(g) for g in groups), default=0)),
                      yaxis={"autorange": "reversed", "type": "category"}),
    )  # fmt: skip
    rows = [
        [g[0].template.title, g[0].template.get_kind_display(), g[0].current.number if g[0].current else None,
         len(g), on, late]
        for g, on, late in zip(groups, on_current, lagging, strict=True)
    ]  # fmt: skip
    return Chart(
        "adoption", "Adoption per template", figure,
        ["Template", "Kind", "Current version", "Adopters", "On the current version", "Behind"], rows,
        description="workloads using each template, split into those on its current version and those behind",
        links=[_template_url(g[0].template) for g in groups], empty="No workload uses a template yet.",
    )  # fmt: skip


def _band(days: int | None) -> str:
    for limit, label in LAG_BANDS:
        if limit is None or (days or 0) < limit:
            return label
    return LAG_BANDS[-1][1]


def _lag_chart(behind: list[Lag], now: datetime) -> Chart:
    counts = {(label, gap): 0 for _, label in LAG_BANDS for gap, _, _ in GAPS}
    for lag in behind:
        counts[(_band(lag.days_behind(now)), lag.gap)] += 1
    bands = [label for _, label in LAG_BANDS]
    shown = [(gap, name, colour) for gap, name, colour in GAPS if any(counts[(b, gap)] for b in bands)]
    figure = charts.figure(
        [charts.trace("bar", name=name, x=bands, y=[counts[(b, gap)] for b in bands], marker={"color": colour},
                hovertemplate="%{y} adopters<extra>" + name + "</extra>")
         for gap, name, colour in shown],
        charts.layout(y_title="Adopters behind", barmode="stack", height=300, legend=LEGEND_ON_TOP, margin={"t": 40},
                      yaxis=_counts(max((sum(counts[(b, g)] for g, _, _ in GAPS) for b in bands), default=0))),
    )  # fmt: skip
    rows = [[b, *(counts[(b, gap)] for gap, _, _ in GAPS), sum(counts[(b, gap)] for gap, _, _ in GAPS)]
            for b in bands] if behind else []  # fmt: skip
    return Chart(
        "lag", "How far adopters lag", figure, ["Behind for", *(name for _, name, _ in GAPS), "Adopters behind"], rows,
        description="adopters behind the current version, by how long since a newer version came out and by the "
        "biggest step between the version they use and the current one (major, minor or patch)",
        empty="Every adopter is on the current version.",
    )  # fmt: skip


def _reach_chart(reach: list[tuple[PolicyVersion, set[int]]], total: int) -> Chart:
    ordered = sorted(reach, key=lambda item: (-len(item[1]), item[0].policy.title.lower()))
    titles = [version.policy.title for version, _ in ordered]
    figure = charts.figure(
        [charts.trace("bar", name="Workloads", x=[len(ids) for _, ids in ordered], y=titles, orientation="h",
                marker={"color": charts.PRIMARY}, hovertemplate="%{x} workloads<extra>%{y}</extra>")],
        charts.layout(x_title=f"Workloads (of {total})", height=_height(len(ordered)), showlegend=False,
                      margin={"b": 72},
                      xaxis=_counts(max((len(ids) for _, ids in ordered), default=0)),
                      yaxis={"autorange": "reversed", "type": "category"}),
    )  # fmt: skip
    return Chart(
        "policy-reach", "Policy reach", figure, ["Policy", "Version", "Workloads it applies to", "Share of workloads"],
        [[v.policy.title, v.number, len(ids), _ratio(len(ids) / total) if total else None] for v, ids in ordered],
        description="for each current policy, the workloads at least one of its controls applies to",
        links=[reverse("governance:policy-detail", args=[v.policy.slug]) for v, _ in ordered],
        empty="No policy is published.",
    )  # fmt: skip


def _weekly_chart(weekly: list[dict[str, Any]], first: date, last: date) -> Chart:
    monday = first - timedelta(days=first.weekday())
    weeks = [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]
    counts = {(row["week"], row["kind"]): row["threads"] for row in weekly}
    kinds = Thread.Kind.choices
    x = [week.isoformat() for week in weeks]
    figure = charts.figure(
        [charts.trace("bar", name=label, x=x, y=[counts.get((week, kind), 0) for week in weeks],
                marker={"color": charts.SERIES[i]}, hovertemplate="%{y}<extra>" + label + "</extra>")
         for i, (kind, label) in enumerate(kinds)],
        charts.layout(y_title="Threads opened", barmode="stack", dates=True, height=300, legend=LEGEND_ON_TOP,
                      margin={"t": 40}, yaxis=_counts(max((sum(counts.get((w, k), 0) for k, _ in kinds) for w in weeks),
                                                          default=0))),
    )  # fmt: skip
    rows = [[week, *(counts.get((week, kind), 0) for kind, _ in kinds), sum(counts.get((week, k), 0) for k, _ in kinds)]
            for week in weeks] if weekly else []  # fmt: skip
    return Chart(
        "feedback-weekly", "Feedback threads per week", figure,
        ["Week of", *(label for _, label in kinds), "Threads"], rows,
        description="threads opened each week (weeks start on Monday), by kind",
        empty="No thread opened in this period.",
    )  # fmt: skip


def _item_url(item: dict[str, Any]) -> str:
    name = "library:template-detail" if item["kind"] == Subject.TEMPLATE else "governance:policy-detail"
    return reverse(name, args=[item["slug"]])


def _item_kind(item: dict[str, Any]) -> str:
    return "Template" if item["kind"] == Subject.TEMPLATE else "Policy"


def _rating_chart(items: list[dict[str, Any]]) -> Chart:
    rated = sorted((i for i in items if i["ratings"]), key=lambda i: (i["average_rating"], i["title"].lower()))
    figure = charts.figure(
        [charts.trace("bar", name="Average rating", x=[float(i["average_rating"]) for i in rated],
                      y=[i["title"] for i in rated],
                orientation="h", text=[f"{i['ratings']} rating{'s' if i['ratings'] != 1 else ''}" for i in rated],
                marker={"color": [charts.DANGER if i["average_rating"] < 3 else charts.PRIMARY for i in rated]},
                hovertemplate="%{x:.2f} / 5 (%{text})<extra>%{y}</extra>")],
        charts.layout(x_title="Average rating (1–5)", height=_height(len(rated)), showlegend=False,
                      margin={"b": 72},
                      xaxis={"range": [0, 5.2], "dtick": 1}, yaxis={"autorange": "reversed", "type": "category"}),
    )  # fmt: skip
    return Chart(
        "ratings", "Effectiveness rating per guidance item", figure,
        ["Guidance item", "Kind", "Ratings", "Average rating"],
        [[i["title"], _item_kind(i), i["ratings"], float(i["average_rating"])] for i in rated],
        description="how well each policy or template worked for the teams who rated it, lowest first; red below 3",
        links=[_item_url(i) for i in rated], empty="No guidance was rated in this period.",
    )  # fmt: skip


# --- Tables --------------------------------------------------------------------------------------


def _lagging_table(behind: list[Lag], now: datetime) -> Table:
    templates_tab = reverse("registry:workload-templates", args=["-slug-"])  # reversed once, for every row
    ordered = sorted(
        behind,
        key=lambda lag: (-(lag.days_behind(now) or -1), lag.template.title.lower(), lag.adopter.workload.name.lower()),
    )
    rows = [
        [lag.adopter.workload.name, lag.adopter.workload.team.name, lag.template.title, lag.adopter.version.number,
         lag.current.number if lag.current else None, lag.gap_label, lag.versions_behind,
         lag.behind_since.date() if lag.behind_since else None, lag.days_behind(now),
         "live release" if lag.adopter.via == "release" else "adopted"]
        for lag in ordered
    ]  # fmt: skip
    return Table(
        "lagging", "Adopters that lag",
        ["Workload", "Team", "Template", "Version in use", "Current version", "Behind by", "Newer versions",
         "Behind since", "Days behind", "Through"],
        rows, links=[templates_tab.replace("-slug-", lag.adopter.workload.slug) for lag in ordered],
        description="Workloads using an older version of a template than the current one, longest behind first. "
        "“Behind since” is the day a newer version came out; the workload's Templates tab upgrades in one step.",
        empty="Every adopter is on the current version.",
    )  # fmt: skip


def _items_table(items: list[dict[str, Any]]) -> Table:
    ordered = sorted(items, key=lambda i: (-i["threads"], i["title"].lower()))
    return Table(
        "feedback-items", "Feedback per guidance item",
        ["Guidance item", "Kind", "Threads", "Open", "Ratings", "Average rating"],
        [[i["title"], _item_kind(i), i["threads"], i["open"], i["ratings"],
          float(i["average_rating"]) if i["average_rating"] is not None else None] for i in ordered],
        links=[_item_url(i) for i in ordered],
        description="Threads opened in the period about each policy and template, how many are still open, and "
        "the teams' ratings of how well it worked (1–5).",
        empty="No thread about a policy or template in this period.",
    )  # fmt: skip


def _waiting_table(waiting: list[Thread], now: datetime) -> Table:
    rows = [
        [t.title, t.get_kind_display(), str(t.about) if t.about else "The CoE in general", t.created_at.date(),
         round((now - t.created_at).total_seconds() / 3600, 1), t.owner.display_name if t.owner else None]
        for t in waiting
    ]  # fmt: skip
    return Table(
        "waiting", "Open threads waiting for a first response",
        ["Thread", "Kind", "About", "Opened", "Hours waiting", "Owner"], rows,
        links=[reverse("feedback:thread-detail", args=[t.pk]) for t in waiting],
        description=f"The {WAITING_SHOWN} open threads the CoE has not answered yet, longest wait first, whenever "
        "they were opened.",
        empty="Every open thread has had a first response.",
    )  # fmt: skip
