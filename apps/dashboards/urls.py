from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("workloads/<slug:slug>/", views.operations, name="operations"),
    path("<slug:name>/", views.dashboard, name="dashboard"),
]
