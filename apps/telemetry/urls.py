from django.urls import path

from . import views

app_name = "telemetry"

urlpatterns = [
    # The workload's Telemetry tab (linked from the registry's workload page) and what it changes.
    path("w/<slug:slug>/", views.workload_telemetry, name="workload-telemetry"),
    path("w/<slug:slug>/score/", views.score_now, name="score-now"),
    path("w/<slug:slug>/alerts/<int:pk>/resolve/", views.alert_resolve, name="alert-resolve"),
    path("w/<slug:slug>/keys/", views.key_create, name="key-create"),
    path("w/<slug:slug>/keys/<int:pk>/revoke/", views.key_revoke, name="key-revoke"),
    path("w/<slug:slug>/sources/", views.source_create, name="source-create"),
    path("w/<slug:slug>/sources/<int:pk>/toggle/", views.source_toggle, name="source-toggle"),
    path("w/<slug:slug>/sources/<int:pk>/delete/", views.source_delete, name="source-delete"),
]
