"""Demo data of feedback for ``make run``: threads the demo teams opened with the CoE over the
last weeks, triaged in every status, and the lessons the CoE drew from them.

Everything goes through ``apps.feedback.services`` as the real people (the team members who write,
``coe`` who answers and triages), so posts, follows, first-response times, audit entries and
notifications are the real ones. Each step is then moved back to the day it happened: the
threads, posts and notifications carry their demo dates, so response-time metrics and the
digest read like a working CoE's. Notifications older than three days are marked read.

``seed()`` is idempotent: threads are keyed on their title, lessons on their title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import Notification, VersionState
from apps.governance.models import Policy, PolicyVersion
from apps.library.models import Template, TemplateVersion
from apps.registry.models import AIModel, Workload

from . import services
from .models import Lesson, Post, Thread

COE = "coe"
Kind, Status = Thread.Kind, Thread.Status
READABLE = (VersionState.PUBLISHED, VersionState.DEPRECATED)
UNREAD_DAYS = 3  # notifications newer than this stay unread in the demo inboxes


@dataclass(frozen=True)
class Step:
    """Something that happened on a thread, ``days_ago`` (fractions are hours)."""

    days_ago: float
    who: str
    say: str = ""
    status: str | None = None  # a triage by the CoE (``say`` is its comment)
    owner: str | None = None  # the CoE takes ownership
    addressed_in_latest: bool = False  # link the newest published version of the thread's guidance
    hide: str = ""  # the CoE hides this post, for this reason


@dataclass(frozen=True)
class DemoThread:
    title: str
    kind: str
    author: str
    body: str
    days_ago: float
    about: tuple[str, str] = ("general", "")  # (policy|template|workload|model|general, slug/name[@number])
    rating: int | None = None
    steps: tuple[Step, ...] = ()
    followers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoLesson:
    title: str
    summary: str
    body: str
    threads: tuple[str, ...]  # thread titles
    days_ago: float | None  # published then; None leaves it a draft
    template: str = ""
    policy: str = ""
    audience: str = Lesson.Audience.CONCERNED


T = DemoThread
S = Step

# fmt: off
THREADS: tuple[DemoThread, ...] = (
    T(
        "Summaries drop the claim reference number",
        Kind.PROBLEM,
        "alice",
        "Since we moved the **Claims Letter Summariser** to v1.1.0 of the prompt, about one summary in ten "
        "leaves out the claim reference. Handlers then paste it back by hand.\n\n"
        "Example: a three-letter exchange on a motor claim came back without `CLM-2026-04417` at all.",
        days_ago=27,
        about=("template", "claims-summarisation-prompt@1.1.0"),
        rating=2,
        steps=(
            S(26.8, COE, "Thanks Alice, reproduced on our evaluation set (11 of 120). Taking it.",
              status=Status.ACKNOWLEDGED, owner=COE),
            S(25.5, "carol", "Same on the household claims: the reference is the first thing to go when the "
                             "correspondence is long."),
            S(21, COE, "The next version asks for the reference as the first line and the rubric checks it.",
              status=Status.PLANNED),
            S(12, COE, "Fixed in 2.0.0: the reference is a required first line, with a test case per claim type.",
              status=Status.ADDRESSED, addressed_in_latest=True),
            S(11.5, "alice", "Upgraded this morning, 0 of 200 missing in our replay. Thank you!"),
        ),
        followers=("carol",),
    ),
    T(
        "Cite section headings, not only document titles",
        Kind.SUGGESTION,
        "kim",
        "The grounded-answer prompt cites the source document. For our 80-page handbooks the title alone "
        "does not help readers find the passage. Could the citation carry the section heading too?",
        days_ago=18,
        about=("template", "grounded-answer-prompt"),
        rating=4,
        steps=(
            S(17.6, COE, "Good idea: the chunker already keeps headings as metadata. Planned for the next "
                         "minor version.", status=Status.PLANNED, owner=COE),
            S(9, "dev", "+1 from Developer Portal Search: we would use it for API reference pages."),
        ),
        followers=("dev",),
    ),
    T(
        "Do internal ticket IDs count as personal data?",
        Kind.QUESTION,
        "bob",
        "The data-protection policy asks us to mask identifiers in prompts. Our ticket IDs "
        "(`INC-123456`) identify a case, not a person. Do they need masking in Agent Assist?",
        days_ago=15,
        about=("policy", "data-protection-in-prompts-and-outputs"),
        steps=(
            S(14.7, COE, "No: a ticket ID on its own is not personal data. Mask the customer's name, e-mail, "
                         "phone and account numbers inside the ticket text; the ID may stay. We added this "
                         "example to the policy's FAQ.", status=Status.ADDRESSED),
        ),
    ),
    T(
        "Let unused monthly budget carry over",
        Kind.SUGGESTION,
        "erin",
        "Invoice Data Capture is seasonal: quiet mid-month, busy at month-end. A carry-over of unused "
        "budget into the next month would stop the 80 % alerts firing in the busy week.",
        days_ago=20,
        about=("policy", "cost-control-and-budget-guardrails"),
        steps=(
            S(19, COE, "Budgets are monthly on purpose: finance books them per month and a carry-over hides "
                       "run-away spend. Raise the workload's budget for the busy months instead; the portal "
                       "forecasts month-end from the daily run rate.", status=Status.DECLINED),
            S(18.5, "erin", "Fair enough, we will set a higher budget for the quarter-end months."),
        ),
    ),
    T(
        "Latency spikes after 16:00 in Agent Assist",
        Kind.PROBLEM,
        "bob",
        "p95 latency of Contact Centre Agent Assist goes from 1.8 s to over 5 s between 16:00 and 18:00 "
        "on weekdays. The provider's status page shows nothing.",
        days_ago=6,
        about=("workload", "Contact Centre Agent Assist"),
        steps=(
            S(5.8, COE, "We see it in the telemetry too; it lines up with the provider's US morning peak. "
                        "Looking at a second region as a fallback.", status=Status.ACKNOWLEDGED, owner=COE),
            S(4.9, "bob", "Thanks. Meanwhile we capped the context at 6k tokens, which helps a little."),
        ),
    ),
    T(
        "Structured output stops mid-JSON on long reports",
        Kind.PROBLEM,
        "carol",
        "With the approved model, extraction from medical reports over 40 pages sometimes returns JSON cut "
        "off mid-object, with no error. Is there a known limit we should design around?",
        days_ago=0.8,
        about=("model", "gpt-4o-mini"),
    ),
    T(
        "Review assistant cut review time by a third",
        Kind.SUCCESS,
        "dev",
        "Three months in: median time to first review went from 6 h to 4 h across 40 repositories, and "
        "reviewers accept about 60 % of the assistant's comments. Happy to present at the next community call.",
        days_ago=10,
        about=("workload", "Code Review Assistant"),
        steps=(
            S(9.6, COE, "Wonderful, thank you. Booked you for the January community call.",
              status=Status.ADDRESSED),
        ),
    ),
    T(
        "Failover step assumes a single region",
        Kind.PROBLEM,
        "dev",
        "Step 3 of the outage runbook fails over to the secondary *provider*, but our on-call agent runs in "
        "one region only, so a regional outage takes both paths down.",
        days_ago=16,
        about=("template", "model-provider-outage-runbook@2.0.0"),
        rating=3,
        steps=(
            S(15.5, COE, "Right, the runbook mixes two kinds of outage. We will split them.",
              status=Status.PLANNED, owner=COE),
            S(6, COE, "Version 2.1.0 has a regional-outage path with a pre-warmed second region.",
              status=Status.ADDRESSED, addressed_in_latest=True),
        ),
    ),
    T(
        "Is the redaction prompt enough for health data?",
        Kind.QUESTION,
        "hugo",
        "The HR Policy Assistant may see sick-leave notes. Is the PII redaction prompt on its own enough "
        "for special-category data, or do we need a deterministic filter in front of it?",
        days_ago=3,
        about=("template", "pii-redaction-prompt"),
        rating=4,
    ),
    T(
        "CoE office hours in January?",
        Kind.QUESTION,
        "kim",
        "Will the Thursday office hours go on in January? Two of our teams want to review their evaluation "
        "plans with you.",
        days_ago=8,
        steps=(
            S(7.9, COE, "Yes, every Thursday 14:00–15:00 from 8 January; book a slot on the CoE wiki.",
              status=Status.ADDRESSED),
        ),
    ),
    T(
        "Disclosure banner wording clashes with our tone of voice",
        Kind.PROBLEM,
        "hugo",
        "The transparency policy's banner text (\"You are talking to an AI system\") reads as cold in an HR "
        "context. May we word it our way if the meaning stays?",
        days_ago=5,
        about=("policy", "transparency-to-users"),
        steps=(
            S(4.5, "carol", "Honestly whoever wrote that banner has never met a real user.",
              hide="Personal remark about a colleague; the point is made in the thread."),
            S(4.2, COE, "Yes, the meaning is what the control checks. Send us your wording and we will add it "
                        "to the policy as an approved variant.", status=Status.ACKNOWLEDGED, owner=COE),
        ),
    ),
    T(
        "The cost guardrails checklist saved us a surprise bill",
        Kind.SUCCESS,
        "erin",
        "The per-request token cap from the checklist stopped a retry loop in Month-End Variance Commentary "
        "after 400 calls instead of 40,000.",
        days_ago=2,
        about=("template", "token-budget-and-cost-guardrails-checklist"),
        rating=5,
    ),
)

LESSONS: tuple[DemoLesson, ...] = (
    DemoLesson(
        "Ask for identifiers first in summaries",
        "Summaries of long correspondence drop identifiers; ask for them as the first line and test for them.",
        "Teams using the claims summarisation prompt saw about one summary in ten lose the claim reference "
        "when the correspondence was long.\n\n"
        "**What we changed** in version 2.0.0 of the prompt:\n\n"
        "- the reference is a required first line of the output;\n"
        "- the evaluation rubric fails a summary without it;\n"
        "- each claim type has a test case.\n\n"
        "**What to do**: upgrade to 2.0.0, and do the same in your own summarisation prompts: ask for the "
        "identifiers your readers look up first, and test for them.",
        threads=("Summaries drop the claim reference number",),
        days_ago=11,
        template="claims-summarisation-prompt",
    ),
    DemoLesson(
        "Plan for regional outages, not only provider outages",
        "A second provider in the same region does not help when the region is down: plan both paths.",
        "A team's on-call agent followed the outage runbook to the letter and still went down: its fallback "
        "provider ran in the same cloud region.\n\n"
        "Version 2.1.0 of the **Model provider outage runbook** separates the two cases. Check that your "
        "fallback runs somewhere else than your primary, and rehearse the switch once a quarter.",
        threads=("Failover step assumes a single region",),
        days_ago=5.5,
        audience=Lesson.Audience.EVERYONE,
    ),
    DemoLesson(
        "Cap tokens per request, not only per month",
        "A monthly budget alerts you after the damage; a per-request cap stops a runaway loop in minutes.",
        "Draft: collecting two more examples before this goes out.",
        threads=("The cost guardrails checklist saved us a surprise bill",),
        days_ago=None,
        template="token-budget-and-cost-guardrails-checklist",
    ),
)
# fmt: on


def seed() -> list[tuple[str, str, str]]:
    people = {u.username: u for u in User.objects.filter(username__in=_usernames())}
    if COE not in people:
        raise RuntimeError("Demo user 'coe' missing (apps.accounts.demo seeds it).")
    threads = {t.title: t for t in Thread.objects.filter(title__in=[spec.title for spec in THREADS])}
    for spec in THREADS:
        if spec.title not in threads:
            threads[spec.title] = _seed_thread(spec, people)
    for spec in LESSONS:
        if not Lesson.objects.filter(title=spec.title).exists():
            _seed_lesson(spec, people[COE], threads)
    return []


def _usernames() -> set[str]:
    names = {COE}
    for spec in THREADS:
        names |= {spec.author, *spec.followers, *(step.who for step in spec.steps)}
    return names


def _ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


class _Backdate:
    """Moves what a step wrote (posts, notifications, the thread's times) back to when it happened."""

    def __init__(self, thread: Thread | None = None) -> None:
        self.thread = thread
        self.last_post = Post.objects.aggregate(last=Max("pk"))["last"] or 0
        self.last_notification = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
        self.started = timezone.now()

    def to(self, when: datetime, thread: Thread) -> None:
        Post.objects.filter(thread=thread, pk__gt=self.last_post).update(created_at=when)
        notifications = Notification.objects.filter(pk__gt=self.last_notification)
        read = when + timedelta(hours=2) if when < _ago(UNREAD_DAYS) else None
        notifications.update(created_at=when, read_at=read)
        thread.refresh_from_db()
        updates = {"last_activity_at": when}
        if thread.created_at >= self.started:
            updates["created_at"] = when
        for name in ("first_response_at", "closed_at"):
            value = getattr(thread, name)
            if value is not None and value >= self.started:
                updates[name] = when
        Thread.objects.filter(pk=thread.pk).update(**updates)


def _seed_thread(spec: DemoThread, people: dict[str, User]) -> Thread:
    stamp = _Backdate()
    thread = services.thread_open(actor=people[spec.author], title=spec.title, body=spec.body, kind=spec.kind,
                                  rating=spec.rating, **_about(spec.about))  # fmt: skip
    stamp.to(_ago(spec.days_ago), thread)
    for username in spec.followers:
        services.follow(actor=people[username], thread=thread)
    for step in spec.steps:
        stamp = _Backdate()
        actor = people[step.who]
        if step.status or step.owner or step.addressed_in_latest:
            services.thread_triage(
                actor=actor, thread=thread, status=step.status, comment=step.say,
                owner=people[step.owner] if step.owner else False,
                addressed_in=_latest_version(thread) if step.addressed_in_latest else None,
            )  # fmt: skip
        else:
            post = services.post_add(actor=actor, thread=thread, body=step.say)
            if step.hide:
                services.post_hide(actor=people[COE], post=post, reason=step.hide)
                Post.objects.filter(pk=post.pk).update(hidden_at=_ago(step.days_ago - 0.1))
        stamp.to(_ago(step.days_ago), thread)
    thread.refresh_from_db()
    return thread


def _about(about: tuple[str, str]) -> dict[str, object]:
    kind, key = about
    slug, _, number = key.partition("@")
    if kind == "template":
        template = Template.objects.get(slug=slug)
        version = _readable(TemplateVersion.objects.filter(template=template), number)
        return {"template": template, "template_version": version}
    if kind == "policy":
        policy = Policy.objects.get(slug=slug)
        return {"policy": policy, "policy_version": _readable(PolicyVersion.objects.filter(policy=policy), number)}
    if kind == "workload":
        return {"workload": Workload.objects.get(name=key)}
    if kind == "model":
        return {"ai_model": AIModel.objects.filter(model_id=key).order_by("pk").first()}
    return {}


def _readable(versions, number: str):  # type: ignore[no-untyped-def]
    """The version ``number`` if it is readable, else the newest readable one."""
    versions = versions.filter(state__in=READABLE)
    newest = versions.order_by("-major", "-minor", "-patch")
    return (number and versions.filter(number=number).first()) or newest.first()


def _latest_version(thread: Thread) -> TemplateVersion | PolicyVersion | None:
    if thread.template_id:
        latest = _readable(TemplateVersion.objects.filter(template_id=thread.template_id), "")
        current = thread.template_version
    elif thread.policy_id:
        latest = _readable(PolicyVersion.objects.filter(policy_id=thread.policy_id), "")
        current = thread.policy_version
    else:
        return None
    return latest if latest is not None and latest != current else None


def _seed_lesson(spec: DemoLesson, coe: User, threads: dict[str, Thread]) -> Lesson:
    when = _ago(spec.days_ago if spec.days_ago is not None else 1)
    stamp = _Backdate()
    lesson = services.lesson_create(
        actor=coe, title=spec.title, summary=spec.summary, body=spec.body,
        threads=[threads[title] for title in spec.threads if title in threads],
        template=Template.objects.filter(slug=spec.template).first() if spec.template else None,
        policy=Policy.objects.filter(slug=spec.policy).first() if spec.policy else None,
        audience=spec.audience,
    )  # fmt: skip
    if spec.days_ago is not None:
        services.lesson_publish(actor=coe, lesson=lesson)
        Lesson.objects.filter(pk=lesson.pk).update(published_at=when)
        lesson.deliveries.update(delivered_at=when)
    Lesson.objects.filter(pk=lesson.pk).update(created_at=when - timedelta(hours=3))
    read = when + timedelta(hours=2) if when < _ago(UNREAD_DAYS) else None
    Notification.objects.filter(pk__gt=stamp.last_notification).update(created_at=when, read_at=read)
    return lesson
