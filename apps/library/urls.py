from django.urls import path

from . import views

app_name = "library"

urlpatterns = [
    path("", views.template_list, name="template-list"),
    path("new/", views.template_create, name="template-create"),
    path("preview/", views.markdown_preview, name="markdown-preview"),
    path("t/<slug:slug>/", views.template_detail, name="template-detail"),
    path("t/<slug:slug>/edit/", views.template_edit, name="template-edit"),
    path("t/<slug:slug>/diff/", views.version_diff, name="version-diff"),
    path("t/<slug:slug>/versions/new/", views.version_create, name="version-create"),
    path("t/<slug:slug>/v/<str:number>/", views.version_detail, name="version-detail"),
    path("t/<slug:slug>/v/<str:number>/edit/", views.version_edit, name="version-edit"),
    path("t/<slug:slug>/v/<str:number>/submit/", views.version_submit, name="version-submit"),
    path("t/<slug:slug>/v/<str:number>/publish/", views.version_publish, name="version-publish"),
    path("t/<slug:slug>/v/<str:number>/deprecate/", views.version_deprecate, name="version-deprecate"),
    path("t/<slug:slug>/v/<str:number>/try/", views.version_try, name="version-try"),
]
