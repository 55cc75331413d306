from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("policies", views.PolicyViewSet, basename="policy")

versions = views.PolicyVersionViewSet
controls = views.ControlViewSet
compliance = views.ComplianceViewSet
waivers = views.WaiverViewSet
# Version numbers contain dots (1.2.0): <str:number> takes them. Write routes are spelled out
# (not routed as detail views), so a write by someone not allowed is 403 before any lookup.
urlpatterns = [
    *router.urls,
    path("policies/<slug:slug>/versions/", versions.as_view({"get": "list", "post": "create"}),
         name="policy-version-list"),
    path("policies/<slug:slug>/versions/<str:number>/", versions.as_view({"get": "retrieve"}),
         name="policy-version-detail"),
    path("policies/<slug:slug>/versions/<str:number>/publish/", versions.as_view({"post": "publish"}),
         name="policy-version-publish"),
    path("policies/<slug:slug>/versions/<str:number>/controls/", controls.as_view({"get": "list", "post": "create"}),
         name="policy-control-list"),
    path("policies/<slug:slug>/versions/<str:number>/controls/<slug:key>/",
         controls.as_view({"get": "retrieve", "patch": "partial_update"}), name="policy-control-detail"),
    path("workloads/<slug:slug>/compliance/", compliance.as_view({"get": "compliance"}), name="workload-compliance"),
    path("workloads/<slug:slug>/attestations/", compliance.as_view({"get": "attestations", "post": "attest"}),
         name="workload-attestation-list"),
    path("waivers/", waivers.as_view({"get": "list", "post": "create"}), name="waiver-list"),
    path("waivers/<int:pk>/", waivers.as_view({"get": "retrieve", "patch": "partial_update"}), name="waiver-detail"),
    # Governance owns approvals; the route sits under the registry's releases.
    path("workloads/<slug:workload_slug>/releases/<int:pk>/approve/",
         views.ReleaseApprovalViewSet.as_view({"post": "approve"}), name="release-approve"),
]  # fmt: skip
