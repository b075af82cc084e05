from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.project_list, name="project-list"),
    path("projects/<slug:slug>/", views.project_detail, name="project-detail"),
    path("countries/", views.country_list, name="country-list"),
    path("countries/<str:iso2>/", views.country_detail, name="country-detail"),
    path("companies/", views.company_list, name="company-list"),
    path("companies/<slug:slug>/", views.company_detail, name="company-detail"),
    path("documents/", views.document_list, name="document-list"),
    path("documents/<int:pk>/", views.document_detail, name="document-detail"),
    path("search/", views.search, name="search"),
    path("about/", views.about, name="about"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
