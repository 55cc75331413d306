from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self) -> None:
        from apps.core import attention

        from . import home

        attention.register(home.teams_card)
        attention.register(home.role_card)
