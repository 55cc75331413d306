from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.views import paginate

from . import selectors, services
from .forms import TeamFilterForm, TokenCreateForm
from .models import PersonalToken, Team


class PortalLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def _profile_context(request: HttpRequest, **extra: object) -> dict[str, object]:
    return {
        "memberships": selectors.membership_list_for(user=request.user),
        "tokens": selectors.token_list(user=request.user),
        "token_form": TokenCreateForm(),
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
