"""The feedback API's rows of the permission matrix (merged into tests/access.py). The template is
the library's (tests/library/access.py), the workload the registry's (tests/registry/access.py)."""

from __future__ import annotations

from typing import Any

from apps.feedback import services
from tests.access import COE_AND_LEADERSHIP, COE_ONLY, DENIED, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone

# Opening threads and replying: anyone signed in but leadership, who read and change nothing.
WRITES = {**SIGNED_IN, "leader": DENIED}
# A workload's threads: its team, the CoE and leadership; another team does not know they exist.
SEES_WORKLOAD_THREAD = {**SIGNED_IN, "other_team_member": HIDDEN}
REPLIES_TO_WORKLOAD_THREAD = {**SEES_WORKLOAD_THREAD, "leader": DENIED}
# Editing a post: its author alone (within the edit window).
AUTHOR_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}
# A draft lesson is the CoE's until published.
DRAFT_LESSON = {**everyone(HIDDEN), "anonymous": LOGIN, "coe_staff": OK}


def build(world: Any) -> None:
    """``team_member`` rates the library's template 2/5 and adds a reply, and opens a thread about
    the team's workload; CoE staff draft a lesson from the first thread."""
    member = world.team_member
    world.fb_api_thread = services.thread_open(
        actor=member, title="Too long for our claims", body="It asks for **everything**.", kind="problem",
        rating=2, template=world.template,
    )  # fmt: skip
    world.fb_api_reply = services.post_add(actor=member, thread=world.fb_api_thread, body="An example: claim 42.")
    world.fb_api_workload_thread = services.thread_open(
        actor=member, title="Latency doubled", body="Since Monday.", kind="problem", workload=world.workload
    )
    world.fb_api_lesson = services.lesson_create(
        actor=world.coe_staff, title="Short prompts win", summary="Ask for what the handler reads.",
        body="Fewer fields, better summaries.", threads=[world.fb_api_thread], template=world.template,
    )  # fmt: skip


def _workload_thread(world: Any) -> dict[str, Any]:
    return {"id": world.fb_api_workload_thread.pk}


def _reply(world: Any) -> dict[str, Any]:
    return {"id": world.fb_api_thread.pk, "post_id": world.fb_api_reply.pk}


def _lesson(world: Any) -> dict[str, Any]:
    return {"slug": world.fb_api_lesson.slug}


def _new_thread(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Feedback from {persona}", "body": "It works.", "kind": "success", "rating": 5,
            "template": world.template.slug}  # fmt: skip


def _new_lesson(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Lesson by {persona}", "summary": "One line.", "body": "What we learned.", "audience": "everyone"}


API: dict[str, Route] = {
    "GET /api/v1/feedback/threads/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/feedback/threads/": Route({"POST": WRITES}, data=_new_thread),
    "GET /api/v1/feedback/threads/{id}/": Route({"GET": SEES_WORKLOAD_THREAD}, kwargs=_workload_thread),
    "PATCH /api/v1/feedback/threads/{id}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_workload_thread, data=lambda w, p: {"status": "acknowledged", "comment": "On it."}
    ),
    "POST /api/v1/feedback/threads/{id}/follow/": Route({"POST": SEES_WORKLOAD_THREAD}, kwargs=_workload_thread),
    "DELETE /api/v1/feedback/threads/{id}/follow/": Route({"DELETE": SEES_WORKLOAD_THREAD}, kwargs=_workload_thread),
    "GET /api/v1/feedback/threads/{id}/posts/": Route({"GET": SEES_WORKLOAD_THREAD}, kwargs=_workload_thread),
    "POST /api/v1/feedback/threads/{id}/posts/": Route(
        {"POST": REPLIES_TO_WORKLOAD_THREAD}, kwargs=_workload_thread, data=lambda w, p: {"body": f"Reply by {p}."}
    ),
    "PATCH /api/v1/feedback/threads/{id}/posts/{post_id}/": Route(
        {"PATCH": AUTHOR_ONLY}, kwargs=_reply, data=lambda w, p: {"body": f"Edited by {p}."}
    ),
    "POST /api/v1/feedback/threads/{id}/posts/{post_id}/hide/": Route(
        {"POST": COE_ONLY}, kwargs=_reply, data=lambda w, p: {"reason": "Names a customer."}
    ),
    "GET /api/v1/feedback/lessons/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/feedback/lessons/": Route({"POST": COE_ONLY}, data=_new_lesson),
    "GET /api/v1/feedback/lessons/{slug}/": Route({"GET": DRAFT_LESSON}, kwargs=_lesson),
    "POST /api/v1/feedback/lessons/{slug}/publish/": Route({"POST": COE_ONLY}, kwargs=_lesson),
    "GET /api/v1/feedback/metrics/": Route({"GET": COE_AND_LEADERSHIP}),
}
