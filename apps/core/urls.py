from django.urls import path

from . import views, views_audit

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/read/", views.notification_mark_read, name="notification-mark-read"),
    path("notifications/badge/", views.notification_badge, name="notification-badge"),
    path("section/<slug:section>/", views.section, name="section"),
    path("audit/", views_audit.audit_list, name="audit-list"),
    path("audit/export.csv", views_audit.audit_export, name="audit-export"),
]
