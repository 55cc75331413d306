from django.urls import path

from . import views_compliance, views_policies

app_name = "governance"

urlpatterns = [
    # Policies, their versions and controls (views_policies).
    path("", views_policies.policy_list, name="policy-list"),
    path("new/", views_policies.policy_create, name="policy-create"),
    path("p/<slug:slug>/", views_policies.policy_detail, name="policy-detail"),
    path("p/<slug:slug>/diff/", views_policies.version_diff, name="version-diff"),
    path("p/<slug:slug>/versions/new/", views_policies.version_create, name="version-create"),
    path("p/<slug:slug>/v/<str:number>/", views_policies.version_detail, name="version-detail"),
    path("p/<slug:slug>/v/<str:number>/publish/", views_policies.version_publish, name="version-publish"),
    path("p/<slug:slug>/v/<str:number>/controls/new/", views_policies.control_create, name="control-create"),
    path("p/<slug:slug>/v/<str:number>/controls/<slug:key>/edit/", views_policies.control_edit, name="control-edit"),
    # Compliance, attestations, waivers, approvals (views_compliance).
    path("compliance/", views_compliance.compliance_matrix, name="compliance-matrix"),
    path("w/<slug:slug>/", views_compliance.workload_compliance, name="workload-compliance"),
    path("w/<slug:slug>/attest/<int:control_id>/", views_compliance.attest, name="attest"),
    path("w/<slug:slug>/waive/<int:control_id>/", views_compliance.waiver_request, name="waiver-request"),
    path("waivers/", views_compliance.waiver_queue, name="waiver-queue"),
    path("waivers/<int:pk>/decide/", views_compliance.waiver_decide, name="waiver-decide"),
    path("approvals/", views_compliance.approval_queue, name="approval-queue"),
    path("approvals/<int:release_id>/approve/", views_compliance.release_approve, name="release-approve"),
]
