from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", views.logout_everywhere, name="logout-everywhere"),
    path("login/code/", views.login_mfa, name="login-mfa"),
    path("profile/mfa/enrol/", views.mfa_enrol, name="mfa-enrol"),
    path("profile/mfa/confirm/", views.mfa_confirm, name="mfa-confirm"),
    path("profile/mfa/disable/", views.mfa_disable, name="mfa-disable"),
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.token_create, name="token-create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
]
