"""API views are declarations: a queryset from the selectors, a serializer, a FilterSet."""

from __future__ import annotations

from django.db.models import ProtectedError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import renderers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import filtersets, selectors
from projects.models import Initiative, Project, ProjectType, SourceDocument
from projects.stats import GROUPINGS, YEAR_FIELDS, project_stats

from . import serializers
from .pagination import PageNumberPagination
from .renderers import CSVRenderer, GeoJSONRenderer

BASE_RENDERERS = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
GEO_RENDERERS = [*BASE_RENDERERS, GeoJSONRenderer]

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv", "api"],
    description="Response format; the Accept header works too (application/json, text/csv).",
)
GEO_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv", "geojson", "api"],
    description="Response format; the Accept header works too (application/json, text/csv, "
    "application/geo+json).",
)


class KnowledgeBaseViewSet(viewsets.ModelViewSet):
    renderer_classes = BASE_RENDERERS
    pagination_class = PageNumberPagination
    filter_backends = [DjangoFilterBackend]

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as error:
            users = sorted({str(obj) for obj in error.protected_objects})[:5]
            raise ValidationError(
                {"detail": f"Still in use, by: {'; '.join(users)}. Remove those links first."}
            ) from error


@extend_schema_view(
    list=extend_schema(parameters=[GEO_FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[GEO_FORMAT_PARAMETER]),
)
class CountryViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CountrySerializer
    filterset_class = filtersets.CountryFilterSet
    renderer_classes = GEO_RENDERERS
    lookup_field = "iso2"
    lookup_value_regex = "[A-Za-z]{2}"

    def get_queryset(self):
        return selectors.country_list(self.request.user)

    def get_object(self):
        self.kwargs["iso2"] = self.kwargs["iso2"].upper()
        return super().get_object()


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[FORMAT_PARAMETER]),
)
class CompanyViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CompanySerializer
    filterset_class = filtersets.CompanyFilterSet
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.company_list(self.request.user)


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[FORMAT_PARAMETER]),
)
class ProjectTypeViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.ProjectTypeSerializer
    filterset_class = filtersets.ProjectTypeFilterSet
    queryset = ProjectType.objects.order_by("position", "name")
    lookup_field = "slug"


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[FORMAT_PARAMETER]),
)
class InitiativeViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.InitiativeSerializer
    filterset_class = filtersets.InitiativeFilterSet
    queryset = Initiative.objects.select_related("parent").order_by("name")
    lookup_field = "slug"


@extend_schema_view(
    list=extend_schema(parameters=[GEO_FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[GEO_FORMAT_PARAMETER]),
)
class ProjectViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.ProjectSerializer
    filterset_class = filtersets.ProjectFilterSet
    renderer_classes = GEO_RENDERERS
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.project_list(self.request.user)

    def perform_create(self, serializer):
        project = serializer.save()
        serializer.instance = self.get_queryset().get(pk=project.pk)

    def perform_update(self, serializer):
        project = serializer.save()
        serializer.instance = self.get_queryset().get(pk=project.pk)


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[FORMAT_PARAMETER]),
)
class DocumentViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.DocumentSerializer
    filterset_class = filtersets.DocumentFilterSet
    queryset = SourceDocument.objects.defer("text").order_by("-published_on", "title", "pk")


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER]),
    retrieve=extend_schema(parameters=[FORMAT_PARAMETER]),
)
class CitationViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CitationSerializer
    filterset_class = filtersets.CitationFilterSet

    def get_queryset(self):
        return selectors.citation_list(self.request.user)


class StatsView(APIView):
    """Counts of projects and sums of their USD value, grouped, honouring every project filter.

    A project with several countries (or companies) counts once in each of their groups, so
    group totals may add up to more than `total`."""

    renderer_classes = BASE_RENDERERS
    # Declared for the schema: the view applies the project FilterSet itself.
    filter_backends = [DjangoFilterBackend]
    filterset_class = filtersets.ProjectFilterSet
    queryset = Project.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(GROUPINGS), required=True),
            OpenApiParameter(
                "year_of",
                OpenApiTypes.STR,
                enum=list(YEAR_FIELDS),
                description="With group_by=year: which date's year (default: announced).",
            ),
            FORMAT_PARAMETER,
        ],
        filters=True,
        responses={200: serializers.StatsSerializer},
    )
    def get(self, request):
        params = request.query_params.copy()
        group_by = params.pop("group_by", [None])[-1]
        year_of = params.pop("year_of", ["announced"])[-1]
        errors = {}
        if group_by not in GROUPINGS:
            errors["group_by"] = [f"Required, one of: {', '.join(GROUPINGS)}."]
        if year_of not in YEAR_FIELDS:
            errors["year_of"] = [f"One of: {', '.join(YEAR_FIELDS)}."]
        filterset = filtersets.ProjectFilterSet(
            params, queryset=selectors.visible_projects(request.user), request=request
        )
        if not filterset.is_valid():
            errors.update({k: [str(m) for m in v] for k, v in filterset.errors.items()})
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        stats = project_stats(projects=filterset.qs, group_by=group_by, year_of=year_of)
        if request.accepted_renderer.format == "csv":
            return Response(stats["results"])
        return Response(stats)
