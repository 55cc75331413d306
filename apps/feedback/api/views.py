"""Feedback over the API: threads and their posts, following, triage, lessons and the metrics the
dashboards read.

A thread the caller may not see (``selectors.threads_visible``: another team's workload, guidance
with nothing published) is 404, whatever is asked of it. A write nobody in the caller's role may do
(triage, hiding, lessons for anyone but the CoE; opening or replying for leadership, who read and
change nothing) is 403 before anything is looked up.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.core.api.permissions import ActionPermission
from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.feedback import selectors, services
from apps.feedback.models import Lesson, Post, Thread
from apps.governance.models import Policy, PolicyVersion
from apps.library.models import Template, TemplateVersion
from apps.registry.models import AIModel, Workload

from .serializers import (
    LessonCreateInput,
    LessonFilterInput,
    LessonOutput,
    MetricsFilterInput,
    MetricsOutput,
    PostCreateInput,
    PostEditInput,
    PostHideInput,
    PostOutput,
    ThreadCreateInput,
    ThreadFilterInput,
    ThreadOutput,
    ThreadTriageInput,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: the body names every failing field."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there, or not yours to see."),
}
READABLE = (VersionState.PUBLISHED, VersionState.DEPRECATED)
# Who may write in threads at all (open one, reply): anyone signed in but leadership. Checked
# before the thread is looked up; feedback.add_post is then checked on the thread.
WRITES = "feedback.add_thread"
ORDERINGS: dict[str, tuple[Any, ...]] = {
    "activity": ("-last_activity_at", "-id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "waiting": (F("closed_at").asc(nulls_first=True), "created_at", "id"),
}


def _count(qs: QuerySet[Any]) -> Coalesce:
    """``qs`` (filtered on ``OuterRef``) counted in a subquery: no join to multiply the rows."""
    counted = qs.order_by().values("thread").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def thread_list(*, user: User) -> QuerySet[Thread]:
    """The threads ``user`` may see, with what ``ThreadOutput`` reads."""
    follows = Thread.followers.through.objects.filter(thread=OuterRef("pk"))
    versions = ("template_version", "policy_version", "addressed_template_version__template",
                "addressed_policy_version__policy")  # fmt: skip
    return (
        selectors.threads_visible(user=user)
        .select_related(*versions)
        .annotate(
            post_count=_count(Post.objects.filter(thread=OuterRef("pk"))),
            follower_count=_count(follows),
            following=Exists(follows.filter(user=user)),
        )
    )


def _missing(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, field_errors={field: [message]})


def _guidance(
    model: type[Template] | type[Policy], *, user: User, slug: str, number: str | None, field: str
) -> tuple[Template | Policy, TemplateVersion | PolicyVersion | None]:
    """A template or policy the person may read (CoE staff: any; others: with something published),
    and its version ``number`` if one is given. 400 naming the field otherwise."""
    noun = model._meta.verbose_name
    document = model.objects.filter(slug=slug).first()
    published = document is not None and document.versions.filter(state__in=READABLE).exists()
    if document is None or not (published or user.is_coe_staff):
        raise _missing(field, f"No {noun} “{slug}”.")
    if not number:
        return document, None
    version = document.versions.filter(number=number.strip()).first()
    if version is None or not (version.state in READABLE or user.is_coe_staff):
        raise _missing("version", f"{document} has no published version {number.strip()}.")
    if version.state not in READABLE:
        raise _missing("version", f"{version} is not published: feedback is on published guidance.")
    return document, version


def _by_slug(model: type[Workload] | type[AIModel], slug: str, field: str) -> Any:
    found = model.objects.filter(slug=slug).first()
    if found is None:
        raise _missing(field, f"No {model._meta.verbose_name} “{slug}”.")
    return found


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Threads -----------------------------------------------------------------------------------


class _ThreadScoped(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionPermission]
    filter_backends: list[Any] = []

    def get_thread(self) -> Thread:
        """The thread in the URL, 404 when it is not there or not the caller's to see."""
        if not hasattr(self, "_thread"):
            self._thread = get_object_or_404(thread_list(user=self.request.user), pk=self.kwargs["pk"])
        return self._thread

    def thread_output(self, thread: Thread) -> dict[str, Any]:
        return ThreadOutput(thread_list(user=self.request.user).get(pk=thread.pk)).data


@extend_schema(responses={**ERRORS}, tags=["feedback"])
class ThreadViewSet(_ThreadScoped):
    """Feedback threads about a policy, a template, a workload, a catalogue model or the CoE.
    Everyone signed in reads threads about published guidance, models and the CoE; a workload's
    threads are for its team, the CoE and leadership. Anyone signed in but leadership opens them;
    CoE staff triage."""

    serializer_class = ThreadOutput
    queryset = Thread.objects.none()  # for the schema; the rows come from thread_list
    action_perms = {"create": WRITES, "partial_update": "feedback.triage_thread"}

    @extend_schema(
        parameters=[ThreadFilterInput],
        responses={200: ThreadOutput(many=True), **ERRORS},
        description="The threads you may see, latest activity first unless `ordering` says otherwise.",
    )
    def list(self, request: Request) -> Response:
        params = ThreadFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        qs = selectors.thread_filter(thread_list(user=request.user), filters)
        if filters.get("mine"):
            qs = qs.filter(Q(author=request.user) | Q(followers=request.user)).distinct()
        qs = qs.order_by(*ORDERINGS[filters.get("ordering") or "activity"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ThreadOutput(page, many=True).data)

    @extend_schema(
        request=ThreadCreateInput,
        responses={201: ThreadOutput, **ERRORS},
        description="Open a thread with its first post, about one of: a template or a policy (optionally a "
        "published version of it, and a rating of how well it worked), one of your team's workloads, a "
        "catalogue model, or nothing (the CoE in general). You follow it; the CoE is told. Leadership reads "
        "feedback and does not open threads (403).",
    )
    def create(self, request: Request) -> Response:
        data = ThreadCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        about: dict[str, Any] = {}
        number = fields.pop("version", None)
        if slug := fields.pop("template", None):
            about["template"], about["template_version"] = _guidance(
                Template, user=request.user, slug=slug, number=number, field="template"
            )
        if slug := fields.pop("policy", None):
            about["policy"], about["policy_version"] = _guidance(
                Policy, user=request.user, slug=slug, number=number, field="policy"
            )
        if slug := fields.pop("workload", None):
            about["workload"] = _by_slug(Workload, slug, "workload")
        if slug := fields.pop("model", None):
            about["ai_model"] = _by_slug(AIModel, slug, "model")
        thread = services.thread_open(actor=request.user, request=request._request, **fields, **about)
        return Response(self.thread_output(thread), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ThreadOutput, **ERRORS}, description="One thread; its posts are under posts/.")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ThreadOutput(self.get_thread()).data)

    @extend_schema(
        request=ThreadTriageInput,
        responses={200: ThreadOutput, **ERRORS},
        description="Triage (CoE staff): change the status (a comment is posted to the thread; declining needs "
        "one), the owner (a CoE staff member's username, or null), or link the published policy or template "
        "version the feedback was addressed in. The author, the followers and the owner are told.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        thread = self.get_thread()
        data = ThreadTriageInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        owner: User | bool | None = False
        if "owner" in fields:
            username = fields.pop("owner")
            owner = None
            if username:
                owner = User.objects.filter(username=username, is_active=True).first()
                if owner is None:
                    raise _missing("owner", f"No user “{username}”.")
        addressed_in = None
        if target := fields.pop("addressed_in", None):
            model = Template if target.get("template") else Policy
            field = "template" if target.get("template") else "policy"
            try:
                _, addressed_in = _guidance(model, user=request.user, slug=target[field], number=target["version"],
                                            field=field)  # fmt: skip
            except ApplicationError as exc:
                raise ApplicationError(exc.message, field_errors={"addressed_in": exc.field_errors}) from None
        thread = services.thread_triage(
            actor=request.user, thread=thread, owner=owner, addressed_in=addressed_in, request=request._request,
            **fields,
        )  # fmt: skip
        return Response(self.thread_output(thread))

    @extend_schema(
        request=None,
        responses={200: ThreadOutput, **ERRORS},
        description="Follow the thread: you are told of every reply and change.",
    )
    def follow(self, request: Request, pk: str) -> Response:
        return self._follow(request, on=True)

    @extend_schema(
        request=None,
        responses={200: ThreadOutput, **ERRORS},
        description="Stop following the thread. Not following already changes nothing.",
    )
    def unfollow(self, request: Request, pk: str) -> Response:
        return self._follow(request, on=False)

    def _follow(self, request: Request, *, on: bool) -> Response:
        thread = self.get_thread()
        if not request.user.has_perm("feedback.follow_thread", thread):
            raise PermissionDenied("You may not follow this thread.")
        services.follow(actor=request.user, thread=thread, on=on)
        return Response(self.thread_output(thread))


# --- Posts -------------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS}, tags=["feedback"])
class PostViewSet(_ThreadScoped):
    """The posts of a thread, oldest first. A hidden post keeps its place: its body is for CoE staff
    only. Whoever may see the thread replies, but leadership; authors edit their own posts for a
    while; CoE staff hide abusive posts."""

    serializer_class = PostOutput
    queryset = Post.objects.none()  # for the schema; the rows come from the thread
    action_perms = {"create": WRITES, "hide": "feedback.hide_post"}

    def get_post(self) -> Post:
        return get_object_or_404(self.get_thread().posts.select_related("author"), pk=self.kwargs["post_id"])

    def output(self, post: Post) -> dict[str, Any]:
        return PostOutput(post, context={"user": self.request.user}).data

    @extend_schema(responses={200: PostOutput(many=True), **ERRORS}, description="The thread's posts, oldest first.")
    def list(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(self.get_thread().posts.select_related("author").order_by("created_at", "id"))
        return self.get_paginated_response(PostOutput(page, many=True, context={"user": request.user}).data)

    @extend_schema(
        request=PostCreateInput,
        responses={201: PostOutput, **ERRORS},
        description="Reply. You follow the thread from now on; its author, followers and owner are told.",
    )
    def create(self, request: Request, pk: str) -> Response:
        thread = self.get_thread()
        if not request.user.has_perm("feedback.add_post", thread):
            raise PermissionDenied("You may not reply to this thread.")
        data = PostCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_add(actor=request.user, thread=thread, request=request._request, **data.validated_data)
        return Response(self.output(post), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PostEditInput,
        responses={200: PostOutput, **ERRORS},
        description="Edit your post within the edit window (`editable_until`); the earlier body is kept as a "
        "revision. After the window, or once hidden, 400 with a message saying so. Someone else's post: 403.",
    )
    def partial_update(self, request: Request, pk: str, post_id: str) -> Response:
        post = self.get_post()
        if not request.user.has_perm("feedback.change_post", post):
            raise PermissionDenied("Only the author edits a post.")
        data = PostEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_edit(actor=request.user, post=post, request=request._request, **data.validated_data)
        return Response(self.output(post))

    @extend_schema(
        request=PostHideInput,
        responses={200: PostOutput, **ERRORS},
        description="Hide an abusive post (CoE staff). It stays in its place, hidden, and the audit trail keeps "
        "who hid it and why. Hiding a hidden post changes nothing.",
    )
    def hide(self, request: Request, pk: str, post_id: str) -> Response:
        post = self.get_post()
        data = PostHideInput(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_hide(actor=request.user, post=post, request=request._request, **data.validated_data)
        return Response(self.output(post))


# --- Lessons -----------------------------------------------------------------------------------


def lesson_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Lesson]:
    """Published lessons for everyone; drafts too for whoever writes them. The threads named are
    those the person may see."""
    filters = filters or {}
    visible = Thread.objects.filter(pk__in=selectors.threads_visible(user=user).values("pk")).order_by("pk")
    qs = (
        Lesson.objects.select_related("template", "policy", "ai_model", "created_by", "published_by")
        .prefetch_related(Prefetch("threads", queryset=visible))
        .annotate(delivery_count=Count("deliveries"))
    )
    if not user.has_perm("feedback.add_lesson"):
        qs = qs.filter(published_at__isnull=False)
    if filters.get("published") is not None:
        qs = qs.filter(published_at__isnull=not filters["published"])
    for name, field in (("template", "template__slug"), ("policy", "policy__slug"), ("model", "ai_model__slug")):
        if value := filters.get(name):
            qs = qs.filter(**{field: value})
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(body__icontains=q))
    return qs.order_by(F("published_at").desc(nulls_first=True), "-created_at", "-id")


@extend_schema(responses={**ERRORS}, tags=["feedback"])
class LessonViewSet(viewsets.GenericViewSet):
    """What the CoE learned from the teams' feedback, written up and passed on. Everyone signed in
    reads published lessons; CoE staff write, publish and alone see drafts."""

    serializer_class = LessonOutput
    queryset = Lesson.objects.none()  # for the schema; the rows come from lesson_list
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"create": "feedback.add_lesson", "publish": "feedback.publish_lesson"}
    filter_backends: list[Any] = []
    lookup_field = "slug"

    def get_lesson(self) -> Lesson:
        return get_object_or_404(lesson_list(user=self.request.user), slug=self.kwargs["slug"])

    def lesson_output(self, lesson: Lesson) -> dict[str, Any]:
        return LessonOutput(lesson_list(user=self.request.user).get(pk=lesson.pk)).data

    @extend_schema(
        parameters=[LessonFilterInput],
        responses={200: LessonOutput(many=True), **ERRORS},
        description="Lessons, latest published first (CoE staff: drafts first).",
    )
    def list(self, request: Request) -> Response:
        params = LessonFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = self.paginate_queryset(lesson_list(user=request.user, filters=params.validated_data))
        return self.get_paginated_response(LessonOutput(page, many=True).data)

    @extend_schema(
        request=LessonCreateInput,
        responses={201: LessonOutput, **ERRORS},
        description="A draft lesson (CoE staff). For the teams it concerns (name a template, policy or model, or "
        "link threads) or for everyone. Publish it to deliver it.",
    )
    def create(self, request: Request) -> Response:
        data = LessonCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        ids = list(dict.fromkeys(fields.pop("threads")))
        threads = list(Thread.objects.filter(pk__in=ids))
        if missing := sorted(set(ids) - {t.pk for t in threads}):
            raise _missing("threads", f"No thread {', '.join(map(str, missing))}.")
        if slug := fields.pop("template", None):
            fields["template"] = _by_slug(Template, slug, "template")  # type: ignore[arg-type]
        if slug := fields.pop("policy", None):
            fields["policy"] = _by_slug(Policy, slug, "policy")  # type: ignore[arg-type]
        if slug := fields.pop("model", None):
            fields["ai_model"] = _by_slug(AIModel, slug, "model")
        lesson = services.lesson_create(actor=request.user, threads=threads, request=request._request, **fields)
        return Response(self.lesson_output(lesson), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: LessonOutput, **ERRORS}, description="One lesson (drafts: CoE staff only).")
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(LessonOutput(self.get_lesson()).data)

    @extend_schema(
        request=None,
        responses={200: LessonOutput, **ERRORS},
        description="Publish (CoE staff): delivered at once, as a notification and in the next digest, to the "
        "teams of every workload using its template, model or policy and the people in its threads (or to "
        "everyone). Publishing twice is a 400.",
    )
    def publish(self, request: Request, slug: str) -> Response:
        lesson = services.lesson_publish(actor=request.user, lesson=self.get_lesson(), request=request._request)
        return Response(self.lesson_output(lesson))


# --- Metrics -----------------------------------------------------------------------------------


class ReadsMetrics(BasePermission):
    """The feedback loop's numbers: CoE staff and leadership (``feedback.view_metrics``)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.has_perm("feedback.view_metrics")


@extend_schema(tags=["feedback"])
class MetricsView(APIView):
    permission_classes = [IsAuthenticated, ReadsMetrics]

    @extend_schema(
        parameters=[MetricsFilterInput],
        responses={200: MetricsOutput, **ERRORS},
        description="How the loop is doing, for the dashboards (CoE staff and leadership): median hours to the "
        "CoE's first response and to addressed, over threads opened from `start` to `end` (both days "
        "included; all time without them); and per policy and template, threads, open threads and the "
        "average effectiveness rating.",
    )
    def get(self, request: Request) -> Response:
        params = MetricsFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.validated_data.get("start"), params.validated_data.get("end")
        times = selectors.response_times(
            start=_aware(start) if start else None, end=_aware(end + timedelta(days=1)) if end else None
        )
        body = {"start": start, "end": end, "response_times": times, "per_guidance_item": selectors.per_guidance_item()}
        return Response(MetricsOutput(body).data)
