"""The feedback pages in the permission matrix (merged into tests/access.py).

The builder below adds, on the library's world.template (a published prompt): a thread by the
team member (rated 2/5) with a post of theirs, a draft lesson and a published one. The panel row
is tried on that template; the workload panel (the workload page's tab) is in test_views.py.
"""

from __future__ import annotations

from typing import Any

from apps.feedback import services
from tests.access import COE_ONLY, DENIED, LOGIN, OK, SIGNED_IN, Route, everyone

# Writing threads and posts: anyone signed in but leadership, who reads and changes nothing.
WRITES = {**SIGNED_IN, "leader": DENIED}
# A post is edited by its author alone (the team member wrote it).
AUTHOR_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}


def build(world: Any) -> None:
    world.feedback_thread = services.thread_open(
        actor=world.team_member, title="Too long for our claims", kind="problem", rating=2,
        body="The prompt's answers are too long.", template=world.template,
    )  # fmt: skip
    world.feedback_post = world.feedback_thread.posts.get()
    world.feedback_draft = services.lesson_create(
        actor=world.coe_staff, title="Short answers", summary="Ask for one line.", body="We learned.",
        threads=[world.feedback_thread], template=world.template,
    )  # fmt: skip
    published = services.lesson_create(actor=world.coe_staff, title="Office hours", summary="Tuesdays.",
                                       body="Come by.", audience="everyone")  # fmt: skip
    world.feedback_lesson = services.lesson_publish(actor=world.coe_staff, lesson=published)


def _thread(world: Any) -> dict[str, Any]:
    return {"pk": world.feedback_thread.pk}


def _post(world: Any) -> dict[str, Any]:
    return {"pk": world.feedback_post.pk}


def _new_thread(world: Any, persona: str) -> dict[str, Any]:
    return {"subject": "general", "kind": "question", "title": f"Asked by {persona}", "body": "How?"}


def _new_lesson(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Lesson by {persona}", "summary": "In short.", "body": "At length.", "audience": "everyone"}


PAGES: dict[str, Route] = {
    "feedback:thread-list": Route({"GET": SIGNED_IN}),
    "feedback:my-threads": Route({"GET": SIGNED_IN}),
    "feedback:thread-create": Route({"GET": WRITES, "POST": WRITES}, data=_new_thread),
    "feedback:thread-detail": Route({"GET": SIGNED_IN}, kwargs=_thread),
    "feedback:post-create": Route({"POST": WRITES}, kwargs=_thread, data=lambda w, p: {"body": f"Reply by {p}"}),
    "feedback:thread-follow": Route({"POST": SIGNED_IN}, kwargs=_thread, data=lambda w, p: {"on": "1"}),
    "feedback:thread-triage": Route(
        {"POST": COE_ONLY}, kwargs=_thread, data=lambda w, p: {"status": "acknowledged", "comment": "Seen."}
    ),
    "feedback:post-edit": Route(
        {"GET": AUTHOR_ONLY, "POST": AUTHOR_ONLY}, kwargs=_post, data=lambda w, p: {"body": f"Edited by {p}"}
    ),
    "feedback:post-hide": Route({"POST": COE_ONLY}, kwargs=_post, data=lambda w, p: {"reason": "Abusive"}),
    "feedback:triage": Route({"GET": COE_ONLY}),
    "feedback:lesson-list": Route({"GET": SIGNED_IN}),
    "feedback:lesson-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, data=_new_lesson),
    "feedback:lesson-detail": Route({"GET": SIGNED_IN}, kwargs=lambda w: {"slug": w.feedback_lesson.slug}),
    "feedback:lesson-publish": Route({"POST": COE_ONLY}, kwargs=lambda w: {"slug": w.feedback_draft.slug}),
    "feedback:panel": Route({"GET": SIGNED_IN}, kwargs=lambda w: {"subject": "template", "slug": w.template.slug}),
    "feedback:digest-preference": Route(
        {"GET": SIGNED_IN, "POST": SIGNED_IN}, data=lambda w, p: {"frequency": "weekly"}
    ),
}
