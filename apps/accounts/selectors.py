from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Membership, PersonalToken, Team, TotpDevice, User


def team_list(*, user: User, search: str = "") -> QuerySet[Team]:
    """Every team (teams are not secret inside the organisation), with member counts."""
    qs = Team.objects.annotate(member_count=Count("memberships")).order_by("name")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return qs.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user").order_by("user__username"))
    )


def team_get(*, user: User, slug: str) -> Team:
    return team_list(user=user).get(slug=slug)


def membership_list_for(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team")


def token_list(*, user: User) -> QuerySet[PersonalToken]:
    return PersonalToken.objects.filter(user=user)


def token_get(*, user: User, pk: int) -> PersonalToken:
    return PersonalToken.objects.get(user=user, pk=pk)


def mfa_device(*, user: User) -> TotpDevice | None:
    """The user's authenticator app, confirmed or being set up, or None."""
    return TotpDevice.objects.filter(user=user).first()


def mfa_is_on(*, user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
