from django.urls import path

from . import views, views_adoption

app_name = "registry"

urlpatterns = [
    path("", views.workload_list, name="workload-list"),
    path("export.csv", views.workload_export, name="workload-export"),
    path("new/", views.workload_create, name="workload-create"),
    path("models/", views.model_list, name="model-list"),
    path("models/new/", views.model_create, name="model-create"),
    path("models/<slug:slug>/", views.model_detail, name="model-detail"),
    path("models/<slug:slug>/edit/", views.model_edit, name="model-edit"),
    path("models/<slug:slug>/prices/", views.model_price_add, name="model-price-add"),
    path("w/<slug:slug>/", views.workload_detail, name="workload-detail"),
    path("w/<slug:slug>/edit/", views.workload_edit, name="workload-edit"),
    path("w/<slug:slug>/retire/", views.workload_retire, name="workload-retire"),
    path("w/<slug:slug>/releases/", views.release_list, name="release-list"),
    path("w/<slug:slug>/releases/new/", views.release_create, name="release-create"),
    path("w/<slug:slug>/releases/<int:pk>/promote/", views.release_promote, name="release-promote"),
    path("w/<slug:slug>/releases/<int:pk>/rollback/", views.release_rollback, name="release-rollback"),
    path("w/<slug:slug>/history/", views.workload_history, name="workload-history"),
    # Library templates used by workloads (the registry owns adoption; DESIGN.md).
    path("templates/most-adopted/", views_adoption.most_adopted, name="templates-most-adopted"),
    path("templates/<slug:template_slug>/adopters/", views_adoption.template_adopters, name="template-adopters"),
    path("w/<slug:slug>/templates/", views_adoption.workload_templates, name="workload-templates"),
    path("w/<slug:slug>/templates/adopt/", views_adoption.adoption_create, name="adoption-create"),
    path(
        "w/<slug:slug>/templates/<slug:template_slug>/remove/",
        views_adoption.adoption_remove,
        name="adoption-remove",
    ),
    path(
        "w/<slug:slug>/templates/<slug:template_slug>/upgrade/",
        views_adoption.template_upgrade,
        name="template-upgrade",
    ),
]
