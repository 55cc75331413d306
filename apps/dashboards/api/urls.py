from django.urls import path

from . import views

urlpatterns = [
    path("dashboards/portfolio/", views.PortfolioView.as_view(), name="dashboards-portfolio"),
    path("dashboards/models/", views.ModelsView.as_view(), name="dashboards-models"),
    path("dashboards/compliance/", views.ComplianceView.as_view(), name="dashboards-compliance"),
    path("dashboards/adoption/", views.AdoptionView.as_view(), name="dashboards-adoption"),
    path("dashboards/workloads/<slug:slug>/", views.OperationsView.as_view(), name="dashboards-operations"),
]
