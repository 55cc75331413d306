from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("templates", views.TemplateViewSet, basename="template")

versions = views.TemplateVersionViewSet
# Version numbers contain dots (1.2.0): <str:number> takes them.
urlpatterns = [
    *router.urls,
    path(
        "templates/<slug:slug>/versions/",
        versions.as_view({"get": "list", "post": "create"}),
        name="template-version-list",
    ),
    path(
        "templates/<slug:slug>/versions/<str:number>/",
        versions.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="template-version-detail",
    ),
    *(
        path(
            f"templates/<slug:slug>/versions/<str:number>/{verb}/",
            versions.as_view({"post": handler}),
            name=f"template-version-{verb}",
        )
        for verb, handler in (("submit", "submit"), ("publish", "publish"), ("deprecate", "deprecate"), ("try", "try_"))
    ),
]
