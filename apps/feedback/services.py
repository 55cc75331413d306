"""Feedback writes: threads opened, posts written and edited, triage, hiding, following, lessons
published. Every change tells the thread's author and followers (never the person who made it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.accounts.roles import COE_STAFF
from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.core.services import audit_record, notification_send
from apps.governance.models import Policy, PolicyVersion
from apps.library.models import Template, TemplateVersion
from apps.registry.adoption import adopter_list
from apps.registry.models import AIModel, LifecycleStage, Workload

from .models import Lesson, LessonDelivery, Post, PostRevision, Subject, Thread

Status = Thread.Status
READABLE = (VersionState.PUBLISHED, VersionState.DEPRECATED)
MAX_BODY = 20_000


def edit_window() -> timedelta:
    return timedelta(minutes=settings.FEEDBACK_EDIT_WINDOW_MINUTES)


def _coe_staff() -> list[User]:
    return list(User.objects.filter(groups__name=COE_STAFF, is_active=True))


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ApplicationError("Write something.", field_errors={"body": ["This field is required."]})
    if len(body) > MAX_BODY:
        raise ApplicationError("Too long.", field_errors={"body": [f"At most {MAX_BODY:,} characters."]})
    return body


def _thread_url(thread: Thread) -> str:
    return reverse("feedback:thread-detail", args=[thread.pk])


def _tell(thread: Thread, *, actor: User | None, title: str, body: str = "", extra: Iterable[User] = ()) -> None:
    """Notify the thread's author, followers and owner, and ``extra``, but not the actor."""
    people = [*thread.followers.filter(is_active=True), *extra]
    if thread.author_id:
        people.append(thread.author)
    if thread.owner_id:
        people.append(thread.owner)
    recipients = [p for p in people if p is not None and (actor is None or p.pk != actor.pk)]
    notification_send(recipients=recipients, title=title, body=body, url=_thread_url(thread))


# --- Threads ------------------------------------------------------------------------------------


def _subject_of(
    *, policy: Policy | None, policy_version: PolicyVersion | None, template: Template | None,
    template_version: TemplateVersion | None, workload: Workload | None, ai_model: AIModel | None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    if template_version is not None:
        template = template_version.template
    if policy_version is not None:
        policy = policy_version.policy
    named = [x for x in (policy, template, workload, ai_model) if x is not None]
    if len(named) > 1:
        raise ApplicationError("A thread is about one thing: a policy, a template, a workload or a model.")
    fields: dict[str, Any] = {
        "policy": policy, "policy_version": policy_version, "template": template,
        "template_version": template_version, "workload": workload, "ai_model": ai_model,
    }  # fmt: skip
    if template is not None:
        return Subject.TEMPLATE, {**fields, "guidance_area": template.category}
    if policy is not None:
        return Subject.POLICY, {**fields, "guidance_area": policy.category}
    if workload is not None:
        return Subject.WORKLOAD, fields
    if ai_model is not None:
        return Subject.MODEL, fields
    return Subject.GENERAL, fields


@transaction.atomic
def thread_open(
    *, actor: User, title: str, body: str, kind: str = Thread.Kind.QUESTION, rating: int | None = None,
    policy: Policy | None = None, policy_version: PolicyVersion | None = None, template: Template | None = None,
    template_version: TemplateVersion | None = None, workload: Workload | None = None,
    ai_model: AIModel | None = None, request: HttpRequest | None = None,
) -> Thread:  # fmt: skip
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = ["This field is required."]
    elif len(title) > 200:
        errors["title"] = ["At most 200 characters."]
    if kind not in Thread.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(Thread.Kind.values)}."]
    if rating is not None and (isinstance(rating, bool) or rating not in range(1, 6)):
        errors["rating"] = ["From 1 (not at all) to 5 (very well), or leave it out."]
    if not (body or "").strip():
        errors["body"] = ["This field is required."]
    if errors:
        raise ApplicationError("Check the fields marked.", field_errors=errors)
    subject, fields = _subject_of(policy=policy, policy_version=policy_version, template=template,
                                  template_version=template_version, workload=workload, ai_model=ai_model)  # fmt: skip
    for version in (fields["policy_version"], fields["template_version"]):
        if version is not None and version.state not in READABLE:
            raise ApplicationError("Give feedback on a published version.")
    if rating is not None and subject not in (Subject.POLICY, Subject.TEMPLATE):
        raise ApplicationError("Ratings are for guidance: a policy or a template.",
                               field_errors={"rating": ["Only for a policy or a template."]})  # fmt: skip
    if workload is not None and not (actor.is_coe_staff or workload.team_id in actor.team_ids):
        raise ApplicationError("Only the workload's team and the CoE discuss a workload.", status=403)
    thread = Thread.objects.create(title=title, kind=kind, rating=rating, subject=subject, author=actor, **fields)
    Post.objects.create(thread=thread, author=actor, body=_body(body))
    thread.followers.add(actor)
    audit_record(actor=actor, action="feedback.thread_open", target=thread,
                 changes={"subject": subject, "kind": kind, "rating": rating}, request=request)  # fmt: skip
    about = thread.about
    owner = getattr(about, "owner", None) if subject in (Subject.POLICY, Subject.TEMPLATE) else None
    coe = [owner] if owner is not None and owner.is_active else _coe_staff()
    notification_send(
        recipients=[u for u in coe if u.pk != actor.pk],
        title=f"New {thread.get_kind_display().lower()}: {title}"[:200],
        body=f"From {actor.display_name}" + (f" about {about}" if about else "")
        + (f", rated {rating}/5." if rating else "."),
        url=_thread_url(thread),
    )  # fmt: skip
    return thread


@transaction.atomic
def post_add(*, actor: User, thread: Thread, body: str, request: HttpRequest | None = None) -> Post:
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    post = Post.objects.create(thread=thread, author=actor, body=_body(body))
    now = timezone.now()
    updates = {"last_activity_at": now}
    if actor.is_coe_staff and thread.first_response_at is None and actor.pk != thread.author_id:
        updates["first_response_at"] = now
    Thread.objects.filter(pk=thread.pk).update(**updates)
    thread.followers.add(actor)
    _tell(thread, actor=actor, title=f"{actor.display_name} replied: {thread.title}"[:200], body=post.body[:500])
    return post


@transaction.atomic
def post_edit(*, actor: User, post: Post, body: str, request: HttpRequest | None = None) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.author_id != actor.pk:
        raise ApplicationError("Only the author edits a post.", status=403)
    if post.is_hidden:
        raise ApplicationError("This post was hidden by the CoE; it can no longer be edited.")
    if timezone.now() - post.created_at > edit_window():
        minutes = settings.FEEDBACK_EDIT_WINDOW_MINUTES
        raise ApplicationError(f"Posts can be edited for {minutes} minutes; reply instead.")
    body = _body(body)
    if body == post.body:
        return post
    PostRevision.objects.create(post=post, body=post.body, edited_by=actor)
    post.body = body
    post.edited_at = timezone.now()
    post.save(update_fields=["body", "edited_at"])
    return post


@transaction.atomic
def post_hide(*, actor: User, post: Post, reason: str, request: HttpRequest | None = None) -> Post:
    """Hide an abusive post: kept, shown as hidden, audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why.", field_errors={"reason": ["This field is required."]})
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.hidden_at is None:
        post.hidden_at, post.hidden_by, post.hidden_reason = timezone.now(), actor, reason[:300]
        post.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        audit_record(actor=actor, action="feedback.post_hide", target=post, changes={"reason": reason}, request=request)
    return post


@transaction.atomic
def thread_triage(
    *, actor: User, thread: Thread, status: str | None = None, owner: User | bool | None = False,
    comment: str = "", addressed_in: PolicyVersion | TemplateVersion | None = None,
    request: HttpRequest | None = None,
) -> Thread:  # fmt: skip
    """Change a thread's status (with an optional comment, posted to the thread), its owner
    (``owner=None`` clears it; leave it ``False`` to keep it) and what it was addressed in."""
    # of=("self",): PostgreSQL refuses FOR UPDATE across the outer join to the (nullable) author.
    thread = Thread.objects.select_for_update(of=("self",)).select_related("author").get(pk=thread.pk)
    changes: dict[str, Any] = {}
    now = timezone.now()
    if owner is not False:
        if owner is not None and not owner.is_coe_staff:
            raise ApplicationError(
                "The owner must be CoE staff.", field_errors={"owner": ["Choose a CoE staff member."]}
            )
        if (owner.pk if owner else None) != thread.owner_id:
            changes["owner"] = owner.username if owner else None
            thread.owner = owner
    if addressed_in is not None:
        if addressed_in.state not in READABLE:
            raise ApplicationError("Link a published version.", field_errors={"addressed_in": ["Not published."]})
        if isinstance(addressed_in, TemplateVersion):
            thread.addressed_template_version, thread.addressed_policy_version = addressed_in, None
        else:
            thread.addressed_policy_version, thread.addressed_template_version = addressed_in, None
        changes["addressed_in"] = str(addressed_in)
    old_status = thread.status
    if status is not None and status != thread.status:
        if status not in Status.values:
            raise ApplicationError("Unknown status.", field_errors={"status": [f"One of: {', '.join(Status.values)}."]})
        if status == Status.DECLINED and not comment.strip():
            raise ApplicationError("Say why it is declined.", field_errors={"comment": ["Required when declining."]})
        thread.status = status
        thread.closed_at = now if status in (Status.ADDRESSED, Status.DECLINED) else None
        changes["status"] = [old_status, status]
    if not changes and not comment.strip():
        return thread
    if thread.first_response_at is None and actor.pk != thread.author_id:
        thread.first_response_at = now
    thread.last_activity_at = now
    thread.save()
    if comment.strip() or "status" in changes:
        text = comment.strip() or f"Status: {thread.get_status_display()}."
        Post.objects.create(thread=thread, author=actor, body=_body(text),
                            status_from=old_status if "status" in changes else "",
                            status_to=thread.status if "status" in changes else "")  # fmt: skip
    audit_record(actor=actor, action="feedback.thread_triage", target=thread, changes=changes, request=request)
    what = f"is now {thread.get_status_display().lower()}" if "status" in changes else "was updated"
    if addressed_in is not None and thread.status == Status.ADDRESSED:
        what = f"was addressed in {addressed_in}"
    _tell(thread, actor=actor, title=f"“{thread.title}” {what}"[:200], body=comment.strip()[:500],
          extra=[thread.owner] if thread.owner else [])  # fmt: skip
    return thread


def follow(*, actor: User, thread: Thread, on: bool = True) -> None:
    if on:
        thread.followers.add(actor)
    else:
        thread.followers.remove(actor)


# --- Lessons ---------------------------------------------------------------------------------------


@transaction.atomic
def lesson_create(
    *, actor: User, title: str, summary: str, body: str, threads: Iterable[Thread] = (),
    template: Template | None = None, policy: Policy | None = None, ai_model: AIModel | None = None,
    audience: str = Lesson.Audience.CONCERNED, request: HttpRequest | None = None,
) -> Lesson:  # fmt: skip
    errors: dict[str, list[str]] = {}
    title, summary = (title or "").strip(), (summary or "").strip()
    if not title:
        errors["title"] = ["This field is required."]
    if not summary:
        errors["summary"] = ["This field is required."]
    if not (body or "").strip():
        errors["body"] = ["This field is required."]
    if audience not in Lesson.Audience.values:
        errors["audience"] = ["Choose the teams it concerns, or everyone."]
    threads = list(threads)
    if audience == Lesson.Audience.CONCERNED and not (template or policy or ai_model or threads):
        errors["audience"] = ["Name the template, policy or model it concerns, link threads, or send it to everyone."]
    if errors:
        raise ApplicationError("Check the fields marked.", field_errors=errors)
    slug = base = slugify(title)[:180] or "lesson"
    n = 2
    while Lesson.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    lesson = Lesson.objects.create(
        title=title[:200], slug=slug, summary=summary[:300], body=body.strip(), template=template, policy=policy,
        ai_model=ai_model, audience=audience, created_by=actor,
    )  # fmt: skip
    lesson.threads.set(threads)
    audit_record(actor=actor, action="feedback.lesson_create", target=lesson, request=request)
    return lesson


def lesson_audience(lesson: Lesson) -> list[User]:
    """Who a lesson goes to: everyone; or the teams of every workload that uses its template, model
    or policy, and the people in its threads."""
    users = User.objects.filter(is_active=True)
    if lesson.audience == Lesson.Audience.EVERYONE:
        return list(users)
    team_ids: set[int] = set()
    if lesson.template_id:
        team_ids |= {a.workload.team_id for a in adopter_list(template=lesson.template)}
    if lesson.ai_model_id:
        team_ids |= set(
            Workload.objects.filter(ai_models=lesson.ai_model)
            .exclude(lifecycle_stage=LifecycleStage.RETIRED)
            .values_list("team_id", flat=True)
        )
    if lesson.policy_id:
        version = lesson.policy.versions.filter(is_current=True).prefetch_related("controls").first()
        controls = list(version.controls.all()) if version else []
        for workload in Workload.objects.exclude(lifecycle_stage=LifecycleStage.RETIRED):
            if any(c.applies_to(workload) for c in controls):
                team_ids.add(workload.team_id)
    thread_people = Q(authored_threads__lessons=lesson) | Q(followed_threads__lessons=lesson)
    return list(users.filter(Q(memberships__team__in=team_ids) | thread_people).distinct())


@transaction.atomic
def lesson_publish(*, actor: User, lesson: Lesson, request: HttpRequest | None = None) -> Lesson:
    lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
    if lesson.published_at is not None:
        raise ApplicationError("This lesson is already published.")
    lesson.published_at, lesson.published_by = timezone.now(), actor
    lesson.save(update_fields=["published_at", "published_by"])
    audience = lesson_audience(lesson)
    LessonDelivery.objects.bulk_create([LessonDelivery(lesson=lesson, user=u) for u in audience], ignore_conflicts=True)
    notification_send(
        recipients=audience, title=f"Lesson from the CoE: {lesson.title}"[:200], body=lesson.summary,
        url=reverse("feedback:lesson-detail", args=[lesson.slug]),
    )  # fmt: skip
    audit_record(actor=actor, action="feedback.lesson_publish", target=lesson,
                 changes={"recipients": len(audience)}, request=request)  # fmt: skip
    return lesson
