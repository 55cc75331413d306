"""Feedback pages: the threads a person may read, "my threads", opening a thread, the thread page
with live replies, edits, hiding and following; the CoE's triage queue; the lessons feed; the
feedback panel other apps' pages load; the digest preference the profile page loads.

Pages compose upward (DESIGN.md): the template, policy, model and workload pages load the panel
from here with ``hx-get``; on the workload page it is the Feedback tab, like telemetry's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Avg, Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.pages import add_service_errors, is_partial, redirect_after_change, require_perm
from apps.core.views import paginate
from apps.governance.models import Policy
from apps.library.models import Template
from apps.registry.models import AIModel, Workload
from apps.registry.views import HTMX_VARY, _workload_context

from . import digest, selectors, services
from .forms import (
    AssignForm,
    DigestPreferenceForm,
    FollowForm,
    HideForm,
    LessonForm,
    PostEditForm,
    PostForm,
    ThreadCreateForm,
    ThreadFilterForm,
    TriageFilterForm,
    TriageForm,
    published_policies,
    published_templates,
)
from .models import Lesson, Post, Subject, Thread

# Colour of each status's badge; the badge always says the status in words too.
STATUS_CSS = {
    Thread.Status.NEW: "warn",
    Thread.Status.ACKNOWLEDGED: "info",
    Thread.Status.PLANNED: "info",
    Thread.Status.ADDRESSED: "ok",
    Thread.Status.DECLINED: "off",
}
PANEL_THREADS = 5  # the latest threads a panel lists; the rest are a link away
PANEL_SUBJECTS = (Subject.POLICY, Subject.TEMPLATE, Subject.WORKLOAD, Subject.MODEL)
THREAD_PAGE = "feedback/thread_detail.html"


# --- Helpers ---------------------------------------------------------------------------------------


def _post_count() -> Subquery:
    posts = Post.objects.filter(thread=OuterRef("pk")).order_by().values("thread").annotate(n=Count("id")).values("n")
    return Subquery(posts, output_field=IntegerField())


def _decorate(threads: Any) -> Any:
    for thread in threads:
        thread.status_css = STATUS_CSS.get(thread.status, "off")
    return threads


def _thread(request: HttpRequest, pk: int) -> Thread:
    """A thread the person may read; any other is not there for them."""
    thread = selectors.threads_visible(user=request.user).filter(pk=pk).first()
    if thread is None:
        raise Http404("No such thread.")
    thread.status_css = STATUS_CSS.get(thread.status, "off")  # type: ignore[attr-defined]
    return thread


def _post(request: HttpRequest, pk: int) -> Post:
    post = Post.objects.select_related("author", "hidden_by", "thread").filter(pk=pk).first()
    if post is None or not request.user.has_perm("feedback.view_thread", post.thread):
        raise Http404("No such post.")
    return post


def _thread_url(thread: Thread, anchor: str = "") -> str:
    url = reverse("feedback:thread-detail", args=[thread.pk])
    return f"{url}#{anchor}" if anchor else url


def _with_flags(post: Post, user: User) -> Post:
    """What the person may do with the post, for its template."""
    in_window = timezone.now() - post.created_at <= services.edit_window()
    post.can_edit = post.author_id == user.pk and not post.is_hidden and in_window  # type: ignore[attr-defined]
    post.can_hide = user.has_perm("feedback.hide_post") and not post.is_hidden  # type: ignore[attr-defined]
    return post


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Lists of threads ---------------------------------------------------------------------------------


def _thread_list(request: HttpRequest, qs: QuerySet[Thread], *, mine: bool) -> HttpResponse:
    form = ThreadFilterForm(request.GET)
    threads = selectors.thread_filter(qs, form.filters()).annotate(post_count=_post_count())
    page = paginate(request, threads)
    _decorate(page)
    context = {
        "form": form,
        "page": page,
        "mine": mine,
        "filtered": form.has_filters(),
        "query": _query_without_page(request),
        "can_add": request.user.has_perm("feedback.add_thread"),
        "can_triage": request.user.has_perm("feedback.view_triage"),
    }
    template = "feedback/thread_list.html"
    if is_partial(request):
        template += "#thread-results"
    return render(request, template, context)


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def thread_list(request: HttpRequest) -> HttpResponse:
    return _thread_list(request, selectors.threads_visible(user=request.user), mine=False)


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def my_threads(request: HttpRequest) -> HttpResponse:
    """Threads the person opened or follows."""
    return _thread_list(request, selectors.my_threads(user=request.user), mine=True)


# --- Opening a thread ------------------------------------------------------------------------------------


def _prefill(request: HttpRequest) -> tuple[dict[str, str], Any, Any]:
    """The subject a "Give feedback" link names (?template=<slug>&version=<number>, ?policy=,
    ?workload=, ?model=): the form's initial data, the object and its version. Not there for the
    person (a draft, another team's workload): 404."""
    user, query = request.user, request.GET
    number = (query.get("version") or "").strip()
    if slug := query.get("template"):
        template = published_templates(user).filter(slug=slug).first()
        if template is None:
            raise Http404("No such template.")
        version = _readable_version(template, number)
        number = version.number if version else ""
        return {"subject": Subject.TEMPLATE, "template": template.slug, "version": number}, template, version
    if slug := query.get("policy"):
        policy = published_policies(user).filter(slug=slug).first()
        if policy is None:
            raise Http404("No such policy.")
        version = _readable_version(policy, number)
        initial = {"subject": Subject.POLICY, "policy": policy.slug, "version": version.number if version else ""}
        return initial, policy, version
    if slug := query.get("workload"):
        workload = Workload.objects.select_related("team").filter(slug=slug).first()
        if workload is None:
            raise Http404("No such workload.")
        if not (user.is_coe_staff or workload.team_id in user.team_ids):
            raise ApplicationError("Only the workload's team and the CoE discuss a workload.", status=403)
        return {"subject": Subject.WORKLOAD, "workload": workload.slug}, workload, None
    if slug := query.get("model"):
        model = AIModel.objects.filter(slug=slug).first()
        if model is None:
            raise Http404("No such model.")
        return {"subject": Subject.MODEL, "model": model.slug}, model, None
    return {}, None, None


def _readable_version(document: Template | Policy, number: str) -> Any:
    versions = document.versions.filter(state__in=services.READABLE)
    if not number:
        return versions.filter(is_current=True).first()
    version = versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


@require_http_methods(["GET", "POST"])
@login_required
def thread_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "feedback.add_thread")
    initial, about, version = _prefill(request)
    create_url = request.get_full_path()
    form = ThreadCreateForm(
        request.POST if request.method == "POST" else None, user=request.user, fixed=about is not None,
        preview_url=create_url, initial=initial,
    )  # fmt: skip
    if request.method == "POST" and "preview" in request.POST:
        body = request.POST.get("body", "")
        if is_partial(request):  # the live preview
            return render(request, "feedback/_preview.html", {"body": body})
    elif request.method == "POST" and form.is_valid():
        try:
            thread = services.thread_open(actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Thank you: your feedback is with the CoE. You will be told of every answer.")
            return redirect_after_change(request, _thread_url(thread))
    context = {"form": form, "about": about, "version": version, "subject": initial.get("subject", "")}
    return render(request, "feedback/thread_form.html", context)


# --- The thread page --------------------------------------------------------------------------------------


def _thread_context(request: HttpRequest, thread: Thread, **extra: Any) -> dict[str, Any]:
    user = request.user
    posts = [_with_flags(post, user) for post in thread.posts.select_related("author", "hidden_by")]
    can = {
        "reply": user.has_perm("feedback.add_post", thread),
        "follow": user.has_perm("feedback.follow_thread", thread),
        "triage": user.has_perm("feedback.triage_thread", thread),
        "add_lesson": user.has_perm("feedback.add_lesson"),
    }
    context: dict[str, Any] = {
        "thread": thread,
        "posts": posts,
        "can": can,
        "following": thread.followers.filter(pk=user.pk).exists(),
        "follower_count": thread.followers.count(),
        "lessons": thread.lessons.filter(published_at__isnull=False) if not can["add_lesson"] else thread.lessons.all(),
        "reply_form": PostForm(preview_url=reverse("feedback:post-create", args=[thread.pk])) if can["reply"] else None,
        "triage_form": TriageForm(thread=thread) if can["triage"] else None,
        "edit_minutes": settings.FEEDBACK_EDIT_WINDOW_MINUTES,
    }
    context.update(extra)
    return context


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _thread(request, pk)
    return render(request, THREAD_PAGE, _thread_context(request, thread))


@require_POST
@login_required
def post_create(request: HttpRequest, pk: int) -> HttpResponse:
    """A reply. With htmx the new post joins the thread in place and a blank form comes back."""
    thread = _thread(request, pk)
    require_perm(request, "feedback.add_post", thread)
    preview_url = reverse("feedback:post-create", args=[thread.pk])
    if "preview" in request.POST and is_partial(request):
        return render(request, "feedback/_preview.html", {"body": request.POST.get("body", "")})
    form = PostForm(request.POST, preview_url=preview_url)
    if form.is_valid():
        try:
            post = services.post_add(actor=request.user, thread=thread, body=form.cleaned_data["body"], request=request)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if not is_partial(request):
                messages.success(request, "Your reply is posted.")
                return redirect(_thread_url(thread, f"post-{post.pk}"))
            context = {"thread": thread, "post": _with_flags(post, request.user), "can": {"reply": True},
                       "reply_form": PostForm(preview_url=preview_url), "new_post": True}  # fmt: skip
            return render(request, "feedback/_reply_posted.html", context)
    if is_partial(request):
        return render(request, f"{THREAD_PAGE}#reply", {"thread": thread, "reply_form": form, "can": {"reply": True}})
    return render(request, THREAD_PAGE, _thread_context(request, thread, reply_form=form))


@require_http_methods(["GET", "POST"])
@login_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post(request, pk)
    require_perm(request, "feedback.change_post", post)
    thread = _thread(request, post.thread_id)
    form = PostEditForm(request.POST if request.method == "POST" else None, initial={"body": post.body},
                        auto_id=f"post-{post.pk}-%s")  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            post = services.post_edit(actor=request.user, post=post, body=form.cleaned_data["body"], request=request)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if is_partial(request):
                return render(
                    request, f"{THREAD_PAGE}#post", {"thread": thread, "post": _with_flags(post, request.user)}
                )
            messages.success(request, "Your post is changed. The earlier text is kept.")
            return redirect(_thread_url(thread, f"post-{post.pk}"))
    context = {"thread": thread, "post": _with_flags(post, request.user), "edit_form": form,
               "edit_minutes": settings.FEEDBACK_EDIT_WINDOW_MINUTES}  # fmt: skip
    if is_partial(request):
        return render(request, f"{THREAD_PAGE}#post-edit", context)
    return render(request, "feedback/post_edit.html", context)


@require_POST
@login_required
def post_hide(request: HttpRequest, pk: int) -> HttpResponse:
    post = _post(request, pk)
    require_perm(request, "feedback.hide_post", post)
    thread = post.thread
    form = HideForm(request.POST, auto_id=f"hide-{post.pk}-%s")
    if form.is_valid():
        post = services.post_hide(actor=request.user, post=post, reason=form.cleaned_data["reason"], request=request)
        if not is_partial(request):
            messages.success(request, "The post is hidden. It is kept, and its author sees that the CoE hid it.")
            return redirect(_thread_url(thread, f"post-{post.pk}"))
    elif not is_partial(request):
        messages.error(request, "Say why the post is hidden. Nothing changed.")
        return redirect(_thread_url(thread, f"post-{post.pk}"))
    context = {"thread": thread, "post": _with_flags(post, request.user), "hide_form": form}
    return render(request, f"{THREAD_PAGE}#post", context)


@require_POST
@login_required
def thread_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow (``on=1``) or unfollow (``on=0``); without ``on``, the other way round from now."""
    thread = _thread(request, pk)
    require_perm(request, "feedback.follow_thread", thread)
    form = FollowForm(request.POST)
    following = thread.followers.filter(pk=request.user.pk).exists()
    on = form.cleaned_data["on"] if form.is_valid() else not following
    services.follow(actor=request.user, thread=thread, on=on)
    if is_partial(request):
        context = {"thread": thread, "following": on, "follower_count": thread.followers.count(),
                   "can": {"follow": True}}  # fmt: skip
        return render(request, f"{THREAD_PAGE}#follow", context)
    messages.success(request, "You follow this thread: you are told of every reply and change." if on
                     else "You no longer follow this thread.")  # fmt: skip
    return redirect(_thread_url(thread))


# --- Triage ---------------------------------------------------------------------------------------------------


def _next_url(request: HttpRequest, default: str) -> str:
    url = request.POST.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return default


@require_POST
@login_required
def thread_triage(request: HttpRequest, pk: int) -> HttpResponse:
    """Status with a comment, owner, "addressed in"; or, from the queue (``quick``), the owner only."""
    thread = _thread(request, pk)
    require_perm(request, "feedback.triage_thread", thread)
    if "quick" in request.POST:
        return _assign(request, thread)
    form = TriageForm(request.POST, thread=thread)
    if form.is_valid():
        try:
            thread = services.thread_triage(actor=request.user, thread=thread, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved. “{thread.title}” is {thread.get_status_display().lower()}; "
                             "its author and followers are told.")  # fmt: skip
            return redirect_after_change(request, _thread_url(thread))
    if is_partial(request):
        return render(
            request, f"{THREAD_PAGE}#triage", {"thread": thread, "triage_form": form, "can": {"triage": True}}
        )
    return render(request, THREAD_PAGE, _thread_context(request, thread, triage_form=form))


def _assign(request: HttpRequest, thread: Thread) -> HttpResponse:
    form = AssignForm(request.POST, thread=thread)
    queue_url = _next_url(request, reverse("feedback:triage"))
    if not form.is_valid():
        messages.error(request, "Choose a CoE staff member. Nothing changed.")
        return redirect_after_change(request, queue_url)
    owner = form.cleaned_data["owner"]
    thread = services.thread_triage(actor=request.user, thread=thread, owner=owner, request=request)
    note = f"“{thread.title}” is now {owner.display_name}'s." if owner else f"“{thread.title}” has no owner now."
    if is_partial(request):
        row = selectors.triage_queue(filters={"status": ""}).get(pk=thread.pk)
        row.status_css = STATUS_CSS.get(row.status, "off")  # type: ignore[attr-defined]
        row.assign_form = AssignForm(thread=row)  # type: ignore[attr-defined]
        context = {"thread": row, "note": note, "now": timezone.now()}
        return render(request, "feedback/triage_queue.html#triage-row", context)
    messages.success(request, note)
    return redirect(queue_url)


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def triage_queue(request: HttpRequest) -> HttpResponse:
    """Open threads, the longest wait first, with filters and quick assignment."""
    require_perm(request, "feedback.view_triage")
    form = TriageFilterForm(request.GET)
    page = paginate(request, selectors.triage_queue(filters=form.filters()))
    rows = _decorate(list(page))
    for thread in rows:
        thread.assign_form = AssignForm(thread=thread)
    open_threads = Thread.objects.filter(status__in=Thread.OPEN_STATUSES)
    by_status = dict(Thread.objects.values_list("status").annotate(n=Count("id")).order_by())
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": _query_without_page(request),
        "now": timezone.now(),
        "counts": [
            (value, label, by_status.get(value, 0), STATUS_CSS[value]) for value, label in Thread.Status.choices
        ],
        "open_count": open_threads.count(),
        "unassigned_count": open_threads.filter(owner__isnull=True).count(),
        "week_old_count": open_threads.filter(created_at__lt=timezone.now() - timedelta(days=7)).count(),
    }
    template = "feedback/triage_queue.html"
    if is_partial(request):
        template += "#triage-results"
    return render(request, template, context)


# --- Lessons ---------------------------------------------------------------------------------------------


def _lesson(request: HttpRequest, slug: str) -> Lesson:
    lesson = Lesson.objects.select_related("template", "policy", "ai_model", "created_by", "published_by").filter(
        slug=slug
    ).first()  # fmt: skip
    if lesson is None or not (lesson.is_published or request.user.has_perm("feedback.add_lesson")):
        raise Http404("No such lesson.")
    return lesson


@require_GET
@login_required
def lesson_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "feedback.view_lesson")
    can_add = request.user.has_perm("feedback.add_lesson")
    drafts = Lesson.objects.filter(published_at__isnull=True).order_by("-created_at") if can_add else []
    context = {"page": paginate(request, selectors.lessons_published()), "drafts": drafts, "can_add": can_add}
    return render(request, "feedback/lesson_list.html", context)


@require_GET
@login_required
def lesson_detail(request: HttpRequest, slug: str) -> HttpResponse:
    require_perm(request, "feedback.view_lesson")
    lesson = _lesson(request, slug)
    can_publish = request.user.has_perm("feedback.publish_lesson", lesson) and not lesson.is_published
    visible = selectors.threads_visible(user=request.user)
    context = {
        "lesson": lesson,
        "threads": _decorate(list(visible.filter(lessons=lesson))),
        "can_publish": can_publish,
        "audience_size": len(services.lesson_audience(lesson)) if can_publish else None,
        "delivered": lesson.deliveries.count() if request.user.has_perm("feedback.add_lesson") else None,
    }
    return render(request, "feedback/lesson_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def lesson_create(request: HttpRequest) -> HttpResponse:
    """A draft lesson; ``?thread=<pk>`` (one or more) links threads and names their guidance."""
    require_perm(request, "feedback.add_lesson")
    initial: dict[str, Any] = {}
    pks = [pk for pk in request.GET.getlist("thread") if pk.isdigit()]
    if pks:
        threads = list(Thread.objects.filter(pk__in=pks).select_related("template", "policy", "ai_model"))
        initial["threads"] = [t.pk for t in threads]
        first = threads[0] if threads else None
        if first is not None:
            initial.update(title=first.title, template=first.template.slug if first.template else None,
                           policy=first.policy.slug if first.policy else None,
                           ai_model=first.ai_model.slug if first.ai_model else None)  # fmt: skip
    form = LessonForm(request.POST if request.method == "POST" else None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            lesson = services.lesson_create(actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "The lesson is saved as a draft. Read it through, then publish it.")
            return redirect("feedback:lesson-detail", slug=lesson.slug)
    return render(request, "feedback/lesson_form.html", {"form": form})


@require_POST
@login_required
def lesson_publish(request: HttpRequest, slug: str) -> HttpResponse:
    require_perm(request, "feedback.publish_lesson")
    lesson = _lesson(request, slug)
    try:
        lesson = services.lesson_publish(actor=request.user, lesson=lesson, request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        count = lesson.deliveries.count()
        messages.success(request, f"“{lesson.title}” is published and sent to {count} {_people(count)}: "
                         "a notification now, and in their next digest.")  # fmt: skip
    return redirect_after_change(request, reverse("feedback:lesson-detail", args=[lesson.slug]))


def _people(count: int) -> str:
    return "person" if count == 1 else "people"


# --- The feedback panel on other apps' pages ------------------------------------------------------------------


def _subject_object(request: HttpRequest, subject: str, slug: str) -> Any:
    """The item a panel is about, if the person may see it (drafts are the CoE's)."""
    user = request.user
    found: Any = None
    if subject == Subject.TEMPLATE:
        found = published_templates(user).filter(slug=slug).first()
    elif subject == Subject.POLICY:
        found = published_policies(user).filter(slug=slug).first()
    elif subject == Subject.WORKLOAD:
        found = Workload.objects.select_related("team", "live_release").filter(slug=slug).first()
        if found is not None:
            require_perm(request, "feedback.view_workload_threads", found)
    elif subject == Subject.MODEL:
        found = AIModel.objects.filter(slug=slug).first()
    if found is None:
        raise Http404("Nothing to give feedback on here.")
    return found


def _panel_context(request: HttpRequest, subject: str, about: Any) -> dict[str, Any]:
    field = {"template": "template", "policy": "policy", "workload": "workload", "model": "ai_model"}[subject]
    threads = selectors.threads_visible(user=request.user).filter(subject=subject, **{field: about})
    stats = threads.aggregate(total=Count("id"), open=Count("id", filter=Q(status__in=Thread.OPEN_STATUSES)),
                              ratings=Count("rating"), average=Avg("rating"))  # fmt: skip
    query: dict[str, str] = {subject: about.slug}
    current = None
    if subject in (Subject.TEMPLATE, Subject.POLICY):
        current = about.versions.filter(is_current=True, state__in=services.READABLE).first()
        if current is not None:
            query["version"] = current.number
    can_add = request.user.has_perm("feedback.add_thread")
    if subject == Subject.WORKLOAD:
        can_add = can_add and (request.user.is_coe_staff or about.team_id in request.user.team_ids)
    return {
        "subject": subject,
        "about": about,
        "current": current,
        "rated": subject in (Subject.TEMPLATE, Subject.POLICY),
        "threads": _decorate(
            list(threads.annotate(post_count=_post_count()).order_by("-last_activity_at")[:PANEL_THREADS])
        ),
        "stats": stats,
        "create_url": f"{reverse('feedback:thread-create')}?{urlencode(query)}",
        "list_url": f"{reverse('feedback:thread-list')}?{urlencode({subject: about.slug})}",
        "panel_url": reverse("feedback:panel", args=[subject, about.slug]),
        "can_add": can_add,
    }


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY, "HX-Target")
def panel(request: HttpRequest, subject: str, slug: str) -> HttpResponse:
    """The item's threads, its average rating and a "Give feedback" link. Loaded into the template,
    policy and model pages; the workload page's Feedback tab. Each is a page of its own too."""
    if subject not in PANEL_SUBJECTS:
        raise Http404("No feedback panel for that.")
    about = _subject_object(request, subject, slug)
    context = _panel_context(request, subject, about)
    if subject == Subject.WORKLOAD:
        context.update(_workload_context(request, about, "feedback"))
        page = "feedback/workload_feedback.html"
        if is_partial(request) and request.htmx.target == "workload-tabs":  # type: ignore[attr-defined]
            page += "#workload-tabs"
        elif is_partial(request):
            page = "feedback/_panel.html"
        return render(request, page, context)
    if is_partial(request):
        return render(request, "feedback/_panel.html", context)
    return render(request, "feedback/panel.html", context)


# --- The digest preference on the profile page -----------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def digest_preference(request: HttpRequest) -> HttpResponse:
    """How often the digest comes (daily, weekly, never). The profile page loads it with htmx."""
    note = ""
    if request.method == "POST":
        form = DigestPreferenceForm(request.POST)
        if form.is_valid():
            try:
                preference = digest.preference_set(user=request.user, frequency=form.cleaned_data["frequency"])
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                note = {
                    "daily": "Saved: the digest comes every morning.",
                    "weekly": "Saved: the digest comes on Monday mornings.",
                    "never": "Saved: no more digests. Notifications still arrive in the portal.",
                }[preference.frequency]
                if not is_partial(request):
                    messages.success(request, note)
                    return redirect("accounts:profile")
    else:
        form = DigestPreferenceForm(initial={"frequency": digest.frequency_of(request.user)})
    template = "feedback/digest_preference.html"
    if is_partial(request):
        template += "#digest"
    return render(request, template, {"form": form, "note": note})
