from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.template import Context, Template

from apps.core.markdown import render_markdown
from apps.core.models import AuditEvent
from apps.core.services import audit_record, notification_send

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<div style="background:url(javascript:alert(1))">x</div>',
]


def _parse(html: str) -> tuple[set[str], list[tuple[str, str | None]]]:
    """The element names and attributes a browser would build from ``html``."""

    class Collector(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.attributes: list[tuple[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            self.attributes.extend(attrs)

    collector = Collector()
    collector.feed(html)
    return collector.tags, [a for a in collector.attributes if a[0] != "rel"]


class TestMarkdown:
    def test_renders_common_markdown(self) -> None:
        html = render_markdown(
            "# Title\n\nSome **bold** text and a [link](https://example.org).\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
        assert "<h1>Title</h1>" in html
        assert "<strong>bold</strong>" in html
        assert '<a href="https://example.org" rel="noopener noreferrer nofollow">link</a>' in html
        assert "<table>" in html

    @pytest.mark.parametrize("payload", XSS_PAYLOADS)
    def test_strips_script_and_dangerous_urls(self, payload: str) -> None:
        tags, attributes = _parse(render_markdown(payload))
        assert not tags & {"script", "iframe", "svg", "img", "div", "style"}
        for name, value in attributes:
            assert not name.startswith("on"), (name, value)
            assert name != "style"
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (name, value)

    def test_template_filter_marks_output_safe_but_sanitised(self) -> None:
        rendered = Template("{{ body|markdown }}").render(Context({"body": "*hi* <b onclick=x>there</b>"}))
        assert "<em>hi</em>" in rendered
        _, attributes = _parse(rendered)
        assert attributes == []

    def test_empty_text_renders_nothing(self) -> None:
        assert render_markdown("") == ""
        assert render_markdown(None) == ""


@pytest.mark.django_db
class TestAudit:
    def test_records_actor_action_and_target(self, team_member, team) -> None:
        event = audit_record(actor=team_member, action="team.update", target=team, changes={"name": ["a", "b"]})
        event.refresh_from_db()
        assert event.actor == team_member
        assert event.actor_repr == "tina"
        assert event.target_type == ContentType.objects.get_for_model(team)
        assert event.target_id == str(team.pk)
        assert event.target_repr == "Claims Automation"
        assert event.changes == {"name": ["a", "b"]}

    def test_system_actions_have_no_actor(self) -> None:
        event = audit_record(actor=None, action="waiver.expire")
        assert event.actor is None
        assert event.actor_repr == "system"

    def test_trail_survives_the_actor_being_deleted(self, team_member) -> None:
        audit_record(actor=team_member, action="token.create")
        team_member.delete()
        event = AuditEvent.objects.get(action="token.create")
        assert event.actor is None
        assert event.actor_repr == "tina"


@pytest.mark.django_db
def test_notification_send_skips_duplicates_and_inactive_users(team_member, other_team_member) -> None:
    other_team_member.is_active = False
    other_team_member.save()
    sent = notification_send(recipients=[team_member, team_member, other_team_member], title="Hi")
    assert [n.recipient for n in sent] == [team_member]
