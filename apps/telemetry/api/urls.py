from django.urls import path

from . import ingest

urlpatterns = [
    path("telemetry/events", ingest.EventBatchView.as_view(), name="telemetry-events"),
]
