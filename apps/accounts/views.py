from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.views import paginate

from . import mfa, selectors, services
from .forms import MfaCodeForm, TeamFilterForm, TokenCreateForm
from .models import PersonalToken, Team, User
from .sso import SingleSignOnLoginMixin

MFA_PENDING = "_mfa_pending"  # session key: password checked, code not yet (not signed in)


class PortalLoginView(SingleSignOnLoginMixin, LoginView):  # the mixin: SSO button, LOCAL_LOGIN_ENABLED
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        """A right password signs in, unless the user has two-step sign-in on: then the session
        only remembers who passed the first step, and the code step signs in (login_mfa)."""
        user = form.get_user()
        if not selectors.mfa_is_on(user=user):
            return super().form_valid(form)
        session = self.request.session
        session.cycle_key()  # a session key known before the password is not the one that goes on
        session[MFA_PENDING] = {
            "user_id": user.pk,
            "hash": user.get_session_auth_hash(),  # a new password or "sign out everywhere" voids the step
            "backend": user.backend,
            "since": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login-mfa")


def _mfa_pending_user(request: HttpRequest) -> tuple[User, dict] | None:
    """Who passed the password step in this session, if recently enough, or None."""
    pending = request.session.get(MFA_PENDING)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("since", 0) > settings.MFA_PENDING_SECONDS:
        del request.session[MFA_PENDING]
        return None
    user = User.objects.filter(pk=pending.get("user_id"), is_active=True).first()
    if user is None or not constant_time_compare(pending.get("hash", ""), user.get_session_auth_hash()):
        del request.session[MFA_PENDING]
        return None
    return user, pending


def _code_failed(request: HttpRequest, user: User) -> None:
    """A wrong code counts as a failed sign-in for the lockout (django-axes, per username and
    address), as a wrong password does: guessing codes is throttled the same way."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


def _locked_out(request: HttpRequest, user: User) -> bool:
    return AxesProxyHandler.is_locked(request, {"username": user.get_username()})


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_mfa(request: HttpRequest) -> HttpResponse:
    """The second step of a password sign-in: the code from the user's authenticator app.

    Single sign-on never comes here: the identity provider does its own second factor.
    """
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    found = _mfa_pending_user(request)
    if found is None:
        messages.info(request, "Sign in with your username and password first.")
        return redirect(settings.LOGIN_URL)
    user, pending = found
    credentials = {"username": user.get_username()}
    if _locked_out(request, user):
        del request.session[MFA_PENDING]
        return get_lockout_response(request, credentials=credentials)
    form = MfaCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if services.mfa_code_check(user=user, code=form.cleaned_data["code"]):
            del request.session[MFA_PENDING]
            login(request, user, backend=pending["backend"])  # a new session key again
            return redirect(pending["next"] or settings.LOGIN_REDIRECT_URL)
        _code_failed(request, user)
        if getattr(request, "axes_locked_out", False):
            del request.session[MFA_PENDING]  # AxesMiddleware answers with the lockout page
        form.add_error("code", "That code is not right, or was already used. Enter the code your app shows now.")
    return render(request, "accounts/login_mfa.html", {"form": form})


def admin_login_through_portal(admin_login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The admin's own sign-in form would skip the portal's second step: people who are not
    signed in are sent to the portal's sign-in, then back. Signed-in people still get the
    admin's page (it tells a non-staff user they may not enter)."""

    def login_view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            return admin_login(request, extra_context)
        target = request.GET.get("next") or "/admin/"
        return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': target})}")

    return login_view


@require_POST
@login_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """Sign out in every browser and device, this one too. Personal tokens stay valid."""
    services.sessions_end_everywhere(user=request.user, request=request)
    logout(request)
    messages.success(
        request,
        "You are signed out everywhere: every browser and device must sign in again. "
        "Your personal API tokens still work; revoke them on your profile if they may be exposed.",
    )
    return redirect(settings.LOGOUT_REDIRECT_URL)


def _mfa_context(request: HttpRequest) -> dict[str, object]:
    device = selectors.mfa_device(user=request.user)
    context: dict[str, object] = {"mfa_device": device, "mfa_form": MfaCodeForm()}
    if device is not None and not device.is_confirmed:
        secret = mfa.secret_decrypt(device.secret_encrypted)
        if secret is not None:
            uri = mfa.otpauth_uri(secret=secret, account=request.user.get_username(), issuer=settings.MFA_ISSUER)
            context.update(mfa_secret=secret, mfa_secret_display=mfa.secret_display(secret), mfa_uri=uri)
            context["mfa_qr"] = mfa.qr_svg_data_uri(uri)
    return context


def _profile_mfa_answer(request: HttpRequest, form: MfaCodeForm) -> HttpResponse:
    """The profile again, with the code form's errors (the page's MFA panel shows them)."""
    return render(request, "accounts/profile.html", _profile_context(request, mfa_form=form))


@require_POST
@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    try:
        services.mfa_enrol_start(user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(f"{resolve_url('accounts:profile')}#mfa")


@sensitive_post_parameters("code")
@require_POST
@login_required
def mfa_confirm(request: HttpRequest) -> HttpResponse:
    form = MfaCodeForm(request.POST)
    if not form.is_valid():
        return _profile_mfa_answer(request, form)
    try:
        services.mfa_confirm(user=request.user, code=form.cleaned_data["code"], request=request)
    except ApplicationError as exc:
        _add_errors(form, exc)
        return _profile_mfa_answer(request, form)
    messages.success(request, "Two-step sign-in is on. You will be asked for a code each time you sign in.")
    return redirect(f"{resolve_url('accounts:profile')}#mfa")


@sensitive_post_parameters("code")
@require_POST
@login_required
def mfa_disable(request: HttpRequest) -> HttpResponse:
    """Turning the second factor off needs a current code, and wrong codes count toward the
    lockout: an open session alone (a borrowed laptop) must not be enough to remove it."""
    if _locked_out(request, request.user):
        return get_lockout_response(request, credentials={"username": request.user.get_username()})
    form = MfaCodeForm(request.POST)
    if not form.is_valid():
        return _profile_mfa_answer(request, form)
    try:
        services.mfa_disable(user=request.user, code=form.cleaned_data["code"], request=request)
    except ApplicationError as exc:
        if exc.field_errors:
            _code_failed(request, request.user)
        _add_errors(form, exc)
        return _profile_mfa_answer(request, form)
    messages.success(request, "Two-step sign-in is off. You sign in with your password only.")
    return redirect(f"{resolve_url('accounts:profile')}#mfa")


def _add_errors(form: MfaCodeForm, exc: ApplicationError) -> None:
    if not exc.field_errors:
        form.add_error(None, exc.message)
    for field, errors in exc.field_errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _profile_context(request: HttpRequest, **extra: object) -> dict[str, object]:
    return {
        "memberships": selectors.membership_list_for(user=request.user),
        "tokens": selectors.token_list(user=request.user),
        "token_form": TokenCreateForm(),
        **_mfa_context(request),
        **extra,
    }


@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", _profile_context(request))


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    new_token = raw_token = None
    if form.is_valid():
        try:
            new_token, raw_token = services.token_create(user=request.user, request=request, **form.service_kwargs())
            form = TokenCreateForm()
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            for field, errors in exc.field_errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
    context = _profile_context(request, token_form=form, new_token=new_token, raw_token=raw_token)
    template = "accounts/profile.html"
    if request.htmx:
        template += "#tokens"
    return render(request, template, context)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = selectors.token_get(user=request.user, pk=pk)
    except PersonalToken.DoesNotExist:
        raise Http404("No such token.") from None
    services.token_revoke(token=token, actor=request.user, request=request)
    if request.htmx:
        return render(request, "accounts/profile.html#tokens", _profile_context(request))
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:profile")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamFilterForm(request.GET)
    teams = selectors.team_list(user=request.user, search=form.search())
    template = "accounts/team_list.html"
    if request.htmx:
        template += "#team-table"
    return render(request, template, {"form": form, "page": paginate(request, teams)})


@require_GET
@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        team = selectors.team_get(user=request.user, slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team.") from None
    return render(request, "accounts/team_detail.html", {"team": team})
