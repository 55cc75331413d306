"""A URL conf for error-page tests: the real one plus views that fail on purpose."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from apps.core.exceptions import ApplicationError


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def refused(request: HttpRequest) -> HttpResponse:
    raise ApplicationError("The model is prohibited for confidential data.", status=409)


urlpatterns = [
    path("boom/", boom),
    path("api/v1/boom/", boom),
    path("forbidden/", forbidden),
    path("refused/", refused),
    path("", include("coe_portal.urls")),
]

handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
