from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    label = "registry"
    verbose_name = "Workload registry"

    def ready(self) -> None:
        from apps.core import attention

        from . import gates, home

        gates.register_builtin_gates()
        attention.register(home.workloads_card)
