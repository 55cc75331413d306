from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("workloads", views.WorkloadViewSet, basename="workload")
router.register("models", views.AIModelViewSet, basename="model")

releases = views.ReleaseViewSet
urlpatterns = [
    *router.urls,
    path(
        "workloads/<slug:workload_slug>/releases/",
        releases.as_view({"get": "list", "post": "create"}),
        name="release-list",
    ),
    path(
        "workloads/<slug:workload_slug>/releases/<int:pk>/",
        releases.as_view({"get": "retrieve"}),
        name="release-detail",
    ),
    path(
        "workloads/<slug:workload_slug>/releases/<int:pk>/promote/",
        releases.as_view({"post": "promote"}),
        name="release-promote",
    ),
    path(
        "workloads/<slug:workload_slug>/releases/<int:pk>/rollback/",
        releases.as_view({"post": "rollback"}),
        name="release-rollback",
    ),
]
