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

        # Sessions and sign-in hardening: every sign-in starts the session's clocks, and the
        # admin's own sign-in form (which would skip the MFA step) sends people to the portal's.
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in

        from .middleware import session_stamp
        from .views import admin_login_through_portal

        user_logged_in.connect(session_stamp, dispatch_uid="accounts.session_stamp")
        admin.site.login = admin_login_through_portal(admin.site.login)  # type: ignore[method-assign]
