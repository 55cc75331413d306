from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    label = "registry"
    verbose_name = "Workload registry"

    def ready(self) -> None:
        from apps.core import attention

        from . import gates, home

        gates.register_builtin_gates()

        from apps.core import versioning
        from apps.library.models import TemplateVersion

        from .adoption import notify_adopters

        versioning.on_publish(TemplateVersion, notify_adopters)
        attention.register(home.workloads_card)
