from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import views as core_views
from apps.telemetry import views_ingest

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.core.api.urls")),
    path("", include("apps.registry.api.urls")),
    path("", include("apps.library.api.urls")),
    path("", include("apps.governance.api.urls")),
    path("", include("apps.telemetry.api.urls")),
    path("", include("apps.feedback.api.urls")),
    path("", include("apps.dashboards.api.urls")),
]

urlpatterns = [
    path("", include("apps.core.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("registry/", include("apps.registry.urls")),
    path("library/", include("apps.library.urls")),
    path("governance/", include("apps.governance.urls")),
    path("telemetry/", include("apps.telemetry.urls")),
    path("feedback/", include("apps.feedback.urls")),
    path("dashboards/", include("apps.dashboards.urls")),
    path("admin/", admin.site.urls),
    # OTLP/HTTP's standard path, where SDKs and collectors send traces (API.md).
    path("v1/traces", views_ingest.traces, name="otlp-traces"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# --- Single sign-on (OIDC): the routes exist only when SSO is on (docs/sso.md) ---
if settings.SSO_ENABLED:
    from apps.accounts import sso

    urlpatterns.append(path("oidc/", include((sso.urlpatterns, "oidc"))))

handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error

admin.site.site_header = "CoE Portal administration"
admin.site.site_title = "CoE Portal admin"
