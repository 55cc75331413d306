from django.urls import path
from rest_framework.routers import SimpleRouter

from . import adoption, views

router = SimpleRouter()
router.register("workloads", views.WorkloadViewSet, basename="workload")
router.register("models", views.AIModelViewSet, basename="model")
router.register("exchange-rates", views.ExchangeRateViewSet, basename="exchange-rate")

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
    path(
        "templates/<slug:template_slug>/adoptions/",
        adoption.AdoptionViewSet.as_view({"get": "list", "post": "create"}),
        name="template-adoption-list",
    ),
    path(
        "templates/<slug:template_slug>/adoptions/upgrade/",
        adoption.AdoptionViewSet.as_view({"post": "upgrade"}),
        name="template-adoption-upgrade",
    ),
    path(
        "templates/<slug:template_slug>/adoptions/<slug:workload_slug>/",
        adoption.AdoptionViewSet.as_view({"delete": "destroy"}),
        name="template-adoption-detail",
    ),
]
