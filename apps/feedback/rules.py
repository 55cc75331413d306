"""Who may do what with feedback (``user.has_perm("feedback.…", obj)``)."""

from __future__ import annotations

import rules

from apps.accounts.rules import is_coe_staff, is_leadership, is_signed_in
from apps.core.models import VersionState
from apps.registry.rules import is_workload_team_member


@rules.predicate
def can_see_thread(user, thread) -> bool:  # type: ignore[no-untyped-def]
    """Threads about published guidance, models and the CoE: everyone signed in. Workload threads:
    the workload's team, the CoE and leadership. Guidance with nothing published: the CoE."""
    if thread is None or not user.is_authenticated:
        return False
    if user.is_coe_staff:
        return True
    if thread.workload_id is not None:
        return user.is_leadership or thread.workload.team_id in user.team_ids
    if thread.template_id is not None:
        return thread.template.versions.filter(state__in=[VersionState.PUBLISHED, VersionState.DEPRECATED]).exists()
    if thread.policy_id is not None:
        return thread.policy.versions.filter(state__in=[VersionState.PUBLISHED, VersionState.DEPRECATED]).exists()
    return True


@rules.predicate
def is_thread_author(user, thread) -> bool:  # type: ignore[no-untyped-def]
    return thread is not None and user.is_authenticated and thread.author_id == user.pk


@rules.predicate
def is_post_author(user, post) -> bool:  # type: ignore[no-untyped-def]
    return post is not None and user.is_authenticated and post.author_id == user.pk


rules.add_perm("feedback.view_thread", can_see_thread)
# Opening a thread: anyone signed in but leadership, who read and change nothing (DESIGN.md).
rules.add_perm("feedback.add_thread", is_signed_in & ~is_leadership | is_coe_staff)
rules.add_perm("feedback.add_post", can_see_thread & (~is_leadership | is_coe_staff))
rules.add_perm("feedback.change_post", is_post_author)  # within the edit window: the service checks
rules.add_perm("feedback.follow_thread", can_see_thread)
rules.add_perm("feedback.triage_thread", is_coe_staff)
rules.add_perm("feedback.hide_post", is_coe_staff)
rules.add_perm("feedback.add_lesson", is_coe_staff)
rules.add_perm("feedback.publish_lesson", is_coe_staff)
rules.add_perm("feedback.view_triage", is_coe_staff)
rules.add_perm("feedback.view_lesson", is_signed_in)
rules.add_perm("feedback.view_metrics", is_coe_staff | is_leadership)  # the loop's numbers, for dashboards
# A workload's Feedback tab and panel: its team, the CoE and leadership (like its telemetry).
rules.add_perm("feedback.view_workload_threads", is_coe_staff | is_leadership | is_workload_team_member)
