from django.urls import path

from . import ingest, views

keys = views.IngestionKeyViewSet
scorecards = views.ScorecardViewSet
sources = views.PullSourceViewSet
alerts = views.AlertViewSet
# Spelled out (not routed as detail views): the workload's permission is checked before any key,
# source or alert is looked up, so a write by someone not allowed is 403, never 404.
urlpatterns = [
    path("telemetry/events", ingest.EventBatchView.as_view(), name="telemetry-events"),
    path("workloads/<slug:slug>/ingestion-keys/", keys.as_view({"get": "list", "post": "create"}),
         name="ingestion-key-list"),
    path("workloads/<slug:slug>/ingestion-keys/<int:pk>/", keys.as_view({"delete": "destroy"}),
         name="ingestion-key-detail"),
    path("workloads/<slug:slug>/scorecards/", scorecards.as_view({"get": "list"}), name="scorecard-list"),
    path("workloads/<slug:slug>/scorecards/score/", scorecards.as_view({"post": "score"}), name="scorecard-score"),
    path("workloads/<slug:slug>/pull-sources/", sources.as_view({"get": "list", "post": "create"}),
         name="pull-source-list"),
    path("workloads/<slug:slug>/pull-sources/<int:pk>/",
         sources.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="pull-source-detail"),
    path("workloads/<slug:slug>/alerts/", alerts.as_view({"get": "list"}), name="alert-list"),
    path("workloads/<slug:slug>/alerts/<int:pk>/resolve/", alerts.as_view({"post": "resolve"}),
         name="alert-resolve"),
]  # fmt: skip
