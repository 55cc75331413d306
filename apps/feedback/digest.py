"""The periodic digest email: new lessons for the person, replies in their threads, guidance that
changed for their workloads. Weekly by default (daily or never, on the profile).

Periods are fixed calendar windows in UTC — a day, or a week from Monday 00:00 — and each person's
digest for a period is recorded in ``DigestSent`` before it is sent: the task may run twice (or on
two workers) and a period still goes out once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import User
from apps.governance.models import PolicyVersion
from apps.library.models import TemplateVersion
from apps.registry.adoption import workload_adoptions
from apps.registry.models import LifecycleStage, Workload

from .models import DigestPreference, DigestSent, LessonDelivery, Post

Frequency = DigestPreference.Frequency


@dataclass
class Digest:
    user: User
    start: datetime
    end: datetime
    lessons: list = field(default_factory=list)
    replies: list = field(default_factory=list)
    guidance: list = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.lessons) + len(self.replies) + len(self.guidance)


def period_before(now: datetime, frequency: str) -> tuple[datetime, datetime]:
    """The last complete period before ``now``."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    if frequency == Frequency.DAILY:
        return midnight - timedelta(days=1), midnight
    monday = midnight - timedelta(days=midnight.weekday())
    return monday - timedelta(days=7), monday


def frequency_of(user: User) -> str:
    preference = getattr(user, "digest_preference", None)
    return preference.frequency if preference else Frequency.WEEKLY


def preference_set(*, user: User, frequency: str) -> DigestPreference:
    from apps.core.exceptions import ApplicationError

    if frequency not in Frequency.values:
        raise ApplicationError("Choose daily, weekly or never.", field_errors={"frequency": ["Not a choice."]})
    preference, _ = DigestPreference.objects.update_or_create(user=user, defaults={"frequency": frequency})
    return preference


def digest_build(*, user: User, start: datetime, end: datetime) -> Digest:
    digest = Digest(user=user, start=start, end=end)
    digest.lessons = [
        d.lesson
        for d in LessonDelivery.objects.filter(user=user, delivered_at__gte=start, delivered_at__lt=end)
        .select_related("lesson")
        .order_by("delivered_at")
    ]
    mine = Q(thread__author=user) | Q(thread__followers=user)
    digest.replies = list(
        Post.objects.filter(mine, created_at__gte=start, created_at__lt=end, hidden_at__isnull=True)
        .exclude(author=user)
        .select_related("thread", "author")
        .distinct()
        .order_by("created_at")
    )
    workloads = list(Workload.objects.filter(team__in=user.team_ids).exclude(lifecycle_stage=LifecycleStage.RETIRED))
    template_ids = {a.version.template_id for w in workloads for a in workload_adoptions(workload=w)}
    templates = TemplateVersion.objects.filter(template_id__in=template_ids, published_at__gte=start,
                                               published_at__lt=end).select_related("template")  # fmt: skip
    policies = []
    if workloads:
        for version in (
            PolicyVersion.objects.filter(published_at__gte=start, published_at__lt=end)
            .select_related("policy")
            .prefetch_related("controls")
        ):
            if any(c.applies_to(w) for c in version.controls.all() for w in workloads):
                policies.append(version)
    digest.guidance = [*templates, *policies]
    return digest


def digest_send(digest: Digest) -> None:
    context = {"digest": digest, "site_url": settings.SITE_URL.rstrip("/")}
    subject = f"CoE Portal digest: {digest.items} new for you"
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("feedback/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[digest.user.email],
    )  # fmt: skip
    message.attach_alternative(render_to_string("feedback/email/digest.html", context), "text/html")
    message.send()


def digests_send_due(*, now: datetime | None = None) -> int:
    """Send every digest whose period has ended and has not been sent; return how many were sent."""
    now = now or timezone.now()
    sent = 0
    people = User.objects.filter(is_active=True).exclude(email="").select_related("digest_preference")
    for user in people:
        frequency = frequency_of(user)
        if frequency == Frequency.NEVER:
            continue
        start, end = period_before(now, frequency)
        sent += _send_once(user=user, frequency=frequency, start=start, end=end)
    return sent


def _send_once(*, user: User, frequency: str, start: datetime, end: datetime) -> int:
    try:
        with transaction.atomic():
            record, _ = DigestSent.objects.get_or_create(
                user=user, frequency=frequency, period_start=start, defaults={"period_end": end}
            )
    except IntegrityError:
        return 0
    with transaction.atomic():
        record = DigestSent.objects.select_for_update().get(pk=record.pk)
        if record.sent_at is not None:
            return 0
        digest = digest_build(user=user, start=start, end=end)
        if digest.items:
            digest_send(digest)
        record.sent_at, record.items = timezone.now(), digest.items
        record.save(update_fields=["sent_at", "items"])
    return 1 if digest.items else 0
