from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "apps.governance"
    label = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from apps.core import attention, versioning
        from apps.registry import gates

        from . import home, services
        from .models import PolicyVersion

        gates.register("governance-high-risk", services.high_risk_gate)
        versioning.on_publish(PolicyVersion, services.notify_policy_published)
        attention.register(home.attestations_card)
        attention.register(home.waivers_card)
        attention.register(home.approvals_card)
        attention.register(home.compliance_card)
