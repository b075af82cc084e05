from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import routers
from rest_framework.reverse import reverse

from . import views
from .errors import not_found

app_name = "api"


class APIRootView(routers.APIRootView):
    """The DSR Knowledge Base API: Digital Silk Road projects, the countries and organisations
    behind them, and the documents that support every fact. See `docs/` for the reference."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        for name in ("stats", "schema", "docs"):
            response.data[name] = reverse(f"api:{name}", request=request)
        return response


class Router(routers.DefaultRouter):
    APIRootView = APIRootView
    include_format_suffixes = False


router = Router()
router.register("countries", views.CountryViewSet, basename="country")
router.register("companies", views.CompanyViewSet, basename="company")
router.register("project-types", views.ProjectTypeViewSet, basename="projecttype")
router.register("initiatives", views.InitiativeViewSet, basename="initiative")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("documents", views.DocumentViewSet, basename="sourcedocument")
router.register("citations", views.CitationViewSet, basename="citation")
router.register("imports", views.DatasetImportViewSet, basename="datasetimport")

urlpatterns = [
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from docs/?script rather than inline,
    # so the Content-Security-Policy needs no 'unsafe-inline' for scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    # Anything else under the API is a JSON 404, also while DEBUG shows HTML pages elsewhere.
    re_path(r"^[\s\S]*$", not_found),
]
