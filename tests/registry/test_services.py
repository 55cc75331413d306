from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent, Notification
from apps.registry import gates, selectors, services
from apps.registry.models import AIModel, Release, ReleaseEvent, Workload

from .factories import AIModelFactory, ModelPriceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mini():
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini", max_data_classification="confidential")


@pytest.fixture
def prohibited():
    return AIModelFactory(model_id="old-model", display_name="Old Model", approval_status="prohibited")


@pytest.fixture
def public_only():
    return AIModelFactory(model_id="free-model", display_name="Free Model", max_data_classification="public")


@pytest.fixture
def workload(team, team_member, mini):
    return services.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[mini], data_classification="internal"
    )


class TestWorkloadRegister:
    def test_registers_with_models_tags_and_an_audit_entry(self, team, team_member, mini) -> None:
        workload = services.workload_register(
            actor=team_member,
            team=team,
            name="Claims Assistant",
            ai_models=[mini],
            tags=["Claims", "summarisation"],
            risk_tier="high",
            value_per_request=Decimal("0.40"),
        )
        assert workload.slug == "claims-assistant"
        assert list(workload.ai_models.all()) == [mini]
        assert sorted(workload.tags.values_list("name", flat=True)) == ["claims", "summarisation"]
        event = AuditEvent.objects.get(action="workload.register")
        assert event.changes == {"team": team.slug, "models": [mini.slug]}

    def test_slugs_stay_unique(self, team, team_member) -> None:
        first = services.workload_register(actor=team_member, team=team, name="Assistant")
        second = services.workload_register(actor=team_member, team=team, name="Assistant")
        assert (first.slug, second.slug) == ("assistant", "assistant-2")

    def test_refuses_a_prohibited_model_and_says_which(self, team, team_member, prohibited) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.workload_register(actor=team_member, team=team, name="X", ai_models=[prohibited])
        assert refused.value.field_errors == {"models": ["Old Model is prohibited by the CoE and may not be used."]}
        assert not Workload.objects.exists()

    def test_refuses_a_model_cleared_for_less_sensitive_data(self, team, team_member, public_only) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.workload_register(
                actor=team_member, team=team, name="X", ai_models=[public_only], data_classification="confidential"
            )
        assert "Free Model is cleared for public data at most, and this workload handles confidential data." in str(
            refused.value
        )
        assert not Workload.objects.exists()

    def test_unacceptable_risk_cannot_leave_proposed(self, team, team_member) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.workload_register(
                actor=team_member, team=team, name="X", risk_tier="unacceptable", lifecycle_stage="pilot"
            )
        assert "cannot leave the proposed stage" in str(refused.value)
        recorded = services.workload_register(actor=team_member, team=team, name="Y", risk_tier="unacceptable")
        assert recorded.lifecycle_stage == "proposed"
        with pytest.raises(ApplicationError):
            services.workload_update(actor=team_member, workload=recorded, lifecycle_stage="development")

    def test_database_also_refuses_unacceptable_outside_proposed(self, workload) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            Workload.objects.filter(pk=workload.pk).update(risk_tier="unacceptable", lifecycle_stage="production")

    def test_invalid_values_name_every_field(self, team, team_member) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.workload_register(
                actor=team_member, team=team, name="X", risk_tier="catastrophic", repository_url="not a url"
            )
        assert {"risk_tier", "repository_url"} <= set(refused.value.field_errors)


class TestWorkloadUpdate:
    def test_records_what_changed(self, workload, team_member) -> None:
        services.workload_update(actor=team_member, workload=workload, lifecycle_stage="pilot", description="New")
        event = AuditEvent.objects.get(action="workload.update")
        assert event.changes == {"lifecycle_stage": ["proposed", "pilot"], "description": ["", "New"]}

    def test_raising_the_data_classification_rechecks_the_models(self, workload, team_member) -> None:
        with pytest.raises(ApplicationError, match="cleared for confidential data at most"):
            services.workload_update(actor=team_member, workload=workload, data_classification="restricted")
        workload.refresh_from_db()
        assert workload.data_classification == "internal"

    def test_a_team_raises_its_risk_tier_but_only_the_coe_lowers_it(self, workload, team_member, coe_staff) -> None:
        """The tier decides which controls apply and whether releases need the CoE's approval."""
        initial = workload.risk_tier
        assert initial != "high"
        services.workload_update(actor=team_member, workload=workload, risk_tier="high")
        with pytest.raises(ApplicationError, match="Only CoE staff can lower a workload's risk tier"):
            services.workload_update(actor=team_member, workload=workload, risk_tier="minimal")
        workload.refresh_from_db()
        assert workload.risk_tier == "high"
        services.workload_update(actor=coe_staff, workload=workload, risk_tier="limited")
        workload.refresh_from_db()
        assert workload.risk_tier == "limited"
        changes = [e.changes for e in AuditEvent.objects.filter(action="workload.update").order_by("id")]
        assert [c["risk_tier"] for c in changes] == [[initial, "high"], ["high", "limited"]]

    def test_a_retired_workload_stays_retired(self, workload, team_member) -> None:
        services.workload_retire(actor=team_member, workload=workload, reason="Replaced")
        with pytest.raises(ApplicationError, match="retired"):
            services.workload_update(actor=team_member, workload=workload, lifecycle_stage="production")

    def test_remove_deletes_without_history_and_retires_with_it(self, workload, team_member, team, mini) -> None:
        services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        assert services.workload_remove(actor=team_member, workload=workload) is False
        workload.refresh_from_db()
        assert workload.lifecycle_stage == "retired"
        assert workload.retired_at is not None
        empty = services.workload_register(actor=team_member, team=team, name="Never used")
        assert services.workload_remove(actor=team_member, workload=empty) is True
        assert not Workload.objects.filter(pk=empty.pk).exists()
        assert AuditEvent.objects.filter(action="workload.delete").count() == 1


class TestReleases:
    def test_promote_then_rollback_keeps_a_timeline(self, workload, team_member, mini) -> None:
        first = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        services.release_promote(actor=team_member, release=first)
        second = services.release_create(actor=team_member, workload=workload, version="1.1.0", ai_models=[mini])
        services.release_promote(actor=team_member, release=second)
        workload.refresh_from_db()
        assert workload.live_release == second
        assert Release.objects.get(pk=first.pk).status == Release.Status.SUPERSEDED

        services.release_rollback(actor=team_member, release=first, reason="p95 latency doubled")
        workload.refresh_from_db()
        assert workload.live_release == first
        assert Release.objects.get(pk=second.pk).status == Release.Status.ROLLED_BACK
        kinds = list(workload.release_events.order_by("at", "id").values_list("kind", "release__version"))
        assert kinds == [
            ("created", "1.0.0"),
            ("promoted", "1.0.0"),
            ("created", "1.1.0"),
            ("promoted", "1.1.0"),
            ("rolled_back", "1.0.0"),
        ]
        rollback = workload.release_events.get(kind=ReleaseEvent.Kind.ROLLED_BACK)
        assert (rollback.previous, rollback.reason) == (second, "p95 latency doubled")
        assert AuditEvent.objects.filter(action="release.rollback").count() == 1

    def test_only_drafts_are_promoted(self, workload, team_member, mini) -> None:
        release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        services.release_promote(actor=team_member, release=release)
        with pytest.raises(ApplicationError, match="only a draft can be promoted"):
            services.release_promote(actor=team_member, release=release)

    def test_rollback_needs_a_reason_and_an_earlier_live_release(self, workload, team_member, mini) -> None:
        draft = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        with pytest.raises(ApplicationError, match="Say why"):
            services.release_rollback(actor=team_member, release=draft, reason=" ")
        with pytest.raises(ApplicationError, match="never been live"):
            services.release_rollback(actor=team_member, release=draft, reason="x")
        services.release_promote(actor=team_member, release=draft)
        with pytest.raises(ApplicationError, match="already live"):
            services.release_rollback(actor=team_member, release=draft, reason="x")

    def test_versions_are_unique_per_workload(self, workload, team_member, mini) -> None:
        services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        with pytest.raises(ApplicationError) as refused:
            services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        assert "version" in refused.value.field_errors

    def test_config_must_be_a_json_object(self, workload, team_member, mini) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.release_create(
                actor=team_member, workload=workload, version="1.0.0", ai_models=[mini], config=[1, 2]
            )
        assert refused.value.field_errors == {"config": ["Give a JSON object, {…}."]}
        assert not Release.objects.exists()

    def test_a_release_needs_models_the_workload_may_use(self, workload, team_member, prohibited) -> None:
        with pytest.raises(ApplicationError, match="names the models it uses"):
            services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[])
        with pytest.raises(ApplicationError, match="prohibited"):
            services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[prohibited])

    def test_gate_refuses_a_model_that_lost_its_approval(self, workload, team_member, coe_staff, mini) -> None:
        release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        services.model_update(actor=coe_staff, model=mini, approval_status="under_review")
        with pytest.raises(ApplicationError) as refused:
            services.release_promote(actor=team_member, release=release)
        assert refused.value.field_errors == {"gates": ["GPT-4o mini is under review, not approved."]}
        assert Release.objects.get(pk=release.pk).status == Release.Status.DRAFT

    def test_gates_registered_by_other_apps_are_consulted(self, workload, team_member, mini) -> None:
        release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        gates.register("test-gate", lambda r, actor: [f"{r.version} needs CoE approval."])
        try:
            with pytest.raises(ApplicationError, match=r"1\.0\.0 needs CoE approval\."):
                services.release_promote(actor=team_member, release=release)
        finally:
            gates._gates.pop("test-gate")
        services.release_promote(actor=team_member, release=release)

    def test_retired_workload_takes_no_release(self, workload, team_member, mini) -> None:
        services.workload_retire(actor=team_member, workload=workload)
        with pytest.raises(ApplicationError, match="retired"):
            services.release_create(actor=team_member, workload=workload, version="9.0.0", ai_models=[mini])


class TestCatalogue:
    def test_price_at_answers_on_both_sides_of_a_change(self, coe_staff) -> None:
        model = services.model_create(actor=coe_staff, provider="OpenAI", model_id="gpt-4o", approval_status="approved")
        assert model.provider == "openai"
        services.model_price_add(
            actor=coe_staff,
            model=model,
            effective_from=datetime(2026, 1, 1, tzinfo=UTC),
            input_per_million=Decimal("5.00"),
            output_per_million=Decimal("15.00"),
        )
        services.model_price_add(
            actor=coe_staff,
            model=model,
            effective_from=datetime(2026, 6, 1, tzinfo=UTC),
            input_per_million=Decimal("2.50"),
            output_per_million=Decimal("10.00"),
        )
        before = selectors.model_price_at(model=model, at=datetime(2026, 5, 31, 23, 59, tzinfo=UTC))
        at_change = selectors.model_price_at(model=model, at=datetime(2026, 6, 1, tzinfo=UTC))
        after = selectors.model_price_at(model=model, at=datetime(2026, 9, 1, tzinfo=UTC))
        assert before is not None
        assert at_change is not None
        assert after is not None
        assert (before.input_per_million, before.output_per_million) == (Decimal("5.00"), Decimal("15.00"))
        assert at_change.input_per_million == Decimal("2.50")
        assert after.output_per_million == Decimal("10.00")
        assert selectors.model_price_at(model=model, at=datetime(2025, 12, 31, tzinfo=UTC)) is None
        assert after.cost(1_000_000, 500_000) == Decimal("7.50")

    def test_the_same_effective_moment_is_refused(self, coe_staff) -> None:
        price = ModelPriceFactory()
        with pytest.raises(ApplicationError, match="already takes effect"):
            services.model_price_add(
                actor=coe_staff,
                model=price.model,
                effective_from=price.effective_from,
                input_per_million=Decimal(1),
                output_per_million=Decimal(1),
            )

    def test_duplicate_model_and_bad_pattern_are_refused(self, coe_staff) -> None:
        services.model_create(actor=coe_staff, provider="openai", model_id="gpt-4o")
        with pytest.raises(ApplicationError, match="in the catalogue already"):
            services.model_create(actor=coe_staff, provider="openai", model_id="gpt-4o")
        with pytest.raises(ApplicationError) as bad:
            services.model_create(actor=coe_staff, provider="openai", model_id="x", match_pattern="([")
        assert "match_pattern" in bad.value.field_errors

    def test_conditions_are_required_when_approved_with_conditions(self, coe_staff, mini) -> None:
        with pytest.raises(ApplicationError) as refused:
            services.model_update(actor=coe_staff, model=mini, approval_status="approved_with_conditions")
        assert "conditions" in refused.value.field_errors
        services.model_update(
            actor=coe_staff, model=mini, approval_status="approved_with_conditions", conditions="No PII in prompts."
        )

    def test_status_change_notifies_the_teams_that_use_the_model(
        self, workload, team_member, other_team_member, coe_staff, mini
    ) -> None:
        services.model_update(actor=coe_staff, model=mini, approval_status="prohibited")
        notes = Notification.objects.all()
        assert [n.recipient for n in notes] == [team_member]
        assert notes[0].title == "GPT-4o mini is now prohibited"
        assert "Claims Assistant" in notes[0].body
        assert notes[0].url == f"/registry/models/{mini.slug}/"
        assert AuditEvent.objects.filter(action="model.update", changes__approval_status__isnull=False).exists()

    def test_a_change_that_changes_nothing_is_not_recorded(self, coe_staff, mini) -> None:
        services.model_update(actor=coe_staff, model=mini, approval_status=mini.approval_status)
        assert not AuditEvent.objects.filter(action="model.update").exists()
        assert not Notification.objects.exists()


class TestResolve:
    def test_by_id_alias_and_pattern(self) -> None:
        mini = AIModelFactory(
            model_id="gpt-4o-mini", aliases=["4o-mini"], match_pattern=r"gpt-4o-mini-\d{4}-\d{2}-\d{2}"
        )
        AIModelFactory(provider="anthropic", model_id="claude-sonnet-4")
        assert selectors.model_resolve(name="gpt-4o-mini") == mini
        assert selectors.model_resolve(name="4o-mini", provider="openai") == mini
        assert selectors.model_resolve(name="gpt-4o-mini-2024-07-18") == mini
        assert selectors.model_resolve(name="gpt-4o-mini-2024-07-18", provider="anthropic") is None
        assert selectors.model_resolve(name="unknown") is None


class TestSelectors:
    def test_other_teams_do_not_see_drafts(self, workload, team_member, other_team_member, leader, mini) -> None:
        services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        assert selectors.release_list(user=team_member, workload=workload).count() == 1
        assert selectors.release_list(user=leader, workload=workload).count() == 1
        assert selectors.release_list(user=other_team_member, workload=workload).count() == 0
        assert selectors.release_timeline(user=other_team_member, workload=workload).count() == 0

    def test_filters_combine(self, team, other_team, team_member, mini) -> None:
        a = services.workload_register(actor=None, team=team, name="A", risk_tier="high", ai_models=[mini])
        services.workload_register(actor=None, team=team, name="B", risk_tier="minimal")
        services.workload_register(actor=None, team=other_team, name="C", risk_tier="high")
        found = selectors.workload_list(user=team_member, filters={"risk_tier": "high", "model": mini.slug})
        assert list(found) == [a]
        mine = selectors.workload_list(user=team_member, filters={"mine": True})
        assert sorted(w.name for w in mine) == ["A", "B"]
        by_risk = selectors.workload_list(user=team_member, filters={"ordering": "risk"})
        assert [w.name for w in by_risk][:2] == ["A", "C"]

    def test_models_a_classification_may_use(self, mini, prohibited, public_only) -> None:
        assert set(selectors.model_usable_for(data_classification="internal")) == {mini}
        assert set(selectors.model_usable_for(data_classification="public")) == {mini, public_only}
        assert AIModel.objects.count() == 3


def test_words_used_in_urls_are_not_workload_slugs(team, team_member) -> None:
    assert services.workload_register(actor=team_member, team=team, name="Upgrade").slug == "upgrade-workload"
    with pytest.raises(ApplicationError, match="reserved"):
        services.workload_register(actor=team_member, team=team, name="X", slug="upgrade")
