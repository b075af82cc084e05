"""API views are declarations: a queryset from the selectors, a serializer, a FilterSet."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import filtersets, selectors
from projects.caching import VisitorsCachedReads
from projects.models import (
    DatasetImport,
    ImportState,
    Initiative,
    Project,
    ProjectType,
    SourceDocument,
)
from projects.services import datasets, imports
from projects.stats import GROUPINGS, YEAR_FIELDS, project_stats

from . import reading, serializers
from .pagination import PageNumberPagination
from .renderers import CSVRenderer, GeoJSONRenderer

READ_RENDERERS = [renderers.JSONRenderer, CSVRenderer]
GEO_READ_RENDERERS = [*READ_RENDERERS, GeoJSONRenderer]
CSV_RESPONSE = OpenApiResponse(
    OpenApiTypes.STR, description="CSV: a header and one flat row per object."
)


class JSONErrorsMixin:
    """Errors are JSON whatever format was asked for: a CSV of an error helps nobody."""

    def finalize_response(self, request, response, *args, **kwargs):
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and renderer is not None and renderer.format != "json":
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def read_schema(serializer, *, geo: bool = False) -> dict:
    """The 200 responses of a read operation, one per format."""
    responses = {(200, "application/json"): serializer, (200, "text/csv"): CSV_RESPONSE}
    if geo:
        # The schema of this content is set by projects.api.schema (Feature or collection).
        responses[(200, "application/geo+json")] = OpenApiResponse(
            OpenApiTypes.OBJECT, description="GeoJSON (RFC 7946), properties as in the JSON."
        )
    return responses


def documented(serializer, *, geo: bool = False):
    """Document the formats of a viewset's list and retrieve operations."""
    return extend_schema_view(
        list=extend_schema(responses=read_schema(serializer, geo=geo)),
        retrieve=extend_schema(responses=read_schema(serializer, geo=geo)),
    )


class KnowledgeBaseViewSet(JSONErrorsMixin, VisitorsCachedReads, viewsets.ModelViewSet):
    read_renderers = READ_RENDERERS
    pagination_class = PageNumberPagination
    filter_backends = [DjangoFilterBackend]

    def get_renderers(self):
        if self.request is not None and self.request.method not in ("GET", "HEAD"):
            return [renderers.JSONRenderer()]
        return [renderer() for renderer in self.read_renderers]

    def readback_queryset(self):
        """Where a written object is read back from, so the answer carries its annotations."""
        return self.get_queryset()

    # The write, its reading back and the answer's data in one transaction: an answer that
    # cannot be made (the database went away after the write) leaves nothing written, so a
    # client that retries after a 503 does not find its own entry in the way.
    def create(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = self.readback_queryset().get(pk=serializer.save().pk)

    def perform_update(self, serializer):
        serializer.instance = self.readback_queryset().get(pk=serializer.save().pk)

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as error:
            users = sorted({str(obj) for obj in error.protected_objects})[:5]
            raise ValidationError(
                {"detail": f"Still in use, by: {'; '.join(users)}. Remove those links first."}
            ) from error


@documented(serializers.CountrySerializer, geo=True)
class CountryViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CountrySerializer
    filterset_class = filtersets.CountryFilterSet
    read_renderers = GEO_READ_RENDERERS
    lookup_field = "iso2"
    lookup_value_regex = "[A-Za-z]{2}"

    def get_queryset(self):
        return selectors.country_list(self.request.user)

    def get_object(self):
        self.kwargs["iso2"] = self.kwargs["iso2"].upper()
        return super().get_object()


@documented(serializers.CompanySerializer)
class CompanyViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CompanySerializer
    filterset_class = filtersets.CompanyFilterSet
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.company_list(self.request.user)


@documented(serializers.ProjectTypeSerializer)
class ProjectTypeViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.ProjectTypeSerializer
    filterset_class = filtersets.ProjectTypeFilterSet
    queryset = ProjectType.objects.order_by("position", "name")
    lookup_field = "slug"


@documented(serializers.InitiativeSerializer)
class InitiativeViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.InitiativeSerializer
    filterset_class = filtersets.InitiativeFilterSet
    queryset = Initiative.objects.select_related("parent").order_by("name")
    lookup_field = "slug"


@documented(serializers.ProjectSerializer, geo=True)
class ProjectViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.ProjectSerializer
    filterset_class = filtersets.ProjectFilterSet
    read_renderers = GEO_READ_RENDERERS
    lookup_field = "slug"

    def get_queryset(self):
        if self.reads_rows():
            return selectors.visible_projects(self.request.user).order_by("name", "pk")
        return selectors.project_list(self.request.user)

    def reads_rows(self) -> bool:
        """Reads are answered from plain rows (see reading.py), writes through the
        serializer."""
        return self.action in ("list", "retrieve") and self.request.method in ("GET", "HEAD")

    def list_answer(self, request, *args, **kwargs):
        # The page's ids first (filtered and sorted on narrow rows, from indexes where they
        # serve), then those projects' rows.
        queryset = self.filter_queryset(self.get_queryset())
        ids = self.paginate_queryset(queryset.values_list("pk", flat=True))
        rows = {row["id"]: row for row in reading.project_rows(Project.objects.filter(pk__in=ids))}
        page = [rows[pk] for pk in ids]
        return self.get_paginated_response(reading.represent_projects(page, request))

    def retrieve_answer(self, request, *args, **kwargs):
        project = self.get_object()
        rows = reading.project_rows(Project.objects.filter(pk=project.pk))
        return Response(reading.represent_projects(rows, request)[0])

    def readback_queryset(self):
        # A writer may create a draft it is not allowed to list.
        return selectors.shaped_projects(Project.objects.all())


class CanChangeDocuments(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm("projects.change_sourcedocument")


IMPORT_RESPONSES = {
    201: OpenApiResponse(
        serializers.DocumentSerializer, description="Stored and queued for processing."
    ),
    200: OpenApiResponse(
        serializers.DocumentSerializer,
        description="The same bytes were imported before: that document, not a copy.",
    ),
}


@documented(serializers.DocumentSerializer)
class DocumentViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.DocumentSerializer
    filterset_class = filtersets.DocumentFilterSet
    queryset = SourceDocument.objects.defer("text", "search_vector").order_by(
        "-published_on", "title", "pk"
    )

    def get_parsers(self):
        # Files arrive as multipart; every other write is JSON. (Parsers are chosen before
        # the action is known, so look at the method; the schema generator has no request.)
        method = getattr(self.request, "method", None)
        if method == "POST" or getattr(self, "action", None) == "create":
            return [JSONParser(), MultiPartParser()]
        return super().get_parsers()

    @extend_schema(
        request={
            "multipart/form-data": serializers.DocumentUploadSerializer,
            "application/json": serializers.DocumentSerializer,
        },
        responses={**IMPORT_RESPONSES, 201: serializers.DocumentSerializer},
    )
    def create(self, request, *args, **kwargs):
        """POST a file (multipart) to import it: the answer comes at once, with status
        `queued`; a worker extracts the text, finds what it names and proposes projects, and
        `status`, `progress` and `error` tell how it went. The same bytes posted again give
        the same document (200). POST JSON to record a document without a file."""
        if not request.content_type.startswith("multipart/"):
            return super().create(request, *args, **kwargs)
        upload = serializers.DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        self._imported(imports.check_size, size=file.size)
        result = self._imported(
            imports.document_import,
            rename={"url": "source_url"},
            data=file.read(),
            filename=file.name,
            metadata=upload.metadata(),
            user=request.user,
            reprocess=upload.validated_data["reprocess"],
        )
        return self._import_response(result)

    @extend_schema(request=serializers.DocumentFetchSerializer, responses=IMPORT_RESPONSES)
    @action(detail=False, methods=["post"])
    def fetch(self, request):
        """Download a document from a public http(s) address and import it. Private,
        loopback and link-local addresses are refused, also behind redirects."""
        fetch = serializers.DocumentFetchSerializer(data=request.data)
        fetch.is_valid(raise_exception=True)
        result = self._imported(
            imports.document_import_url,
            url=fetch.validated_data["url"],
            metadata=fetch.metadata(),
            user=request.user,
            reprocess=fetch.validated_data["reprocess"],
        )
        return self._import_response(result)

    @extend_schema(
        request=None,
        responses={202: OpenApiResponse(serializers.DocumentSerializer, description="Queued.")},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanChangeDocuments])
    def reprocess(self, request, pk=None):
        """Process the document again; what the last run derived is replaced."""
        document = self.get_object()
        imports.document_reprocess(document)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=document.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses=serializers.MentionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def mentions(self, request, pk=None):
        """Where the document names a country, an organisation or a kind of project."""
        document = self.get_object()
        mentions = document.mentions.select_related("country", "company", "project_type")
        page = self.paginate_queryset(mentions.order_by("start"))
        return self.get_paginated_response(serializers.MentionSerializer(page, many=True).data)

    @staticmethod
    def _imported(service, *, rename: dict | None = None, **arguments):
        """Call an import service; its errors become a 400 naming the request's fields
        (`rename` maps the service's names to the request's)."""
        try:
            return service(**arguments)
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            if isinstance(detail, dict):
                detail = {(rename or {}).get(k, k): v for k, v in detail.items()}
            raise ValidationError(detail) from None

    def _import_response(self, result):
        # The document as the import left it (queued): re-reading it could already show a
        # fast worker's progress, and the answer promises the state of the request's outcome.
        data = self.get_serializer(result.document).data
        headers = {"Location": str(data["url"])}
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(data, status=code, headers=headers)


@documented(serializers.CitationSerializer)
class CitationViewSet(KnowledgeBaseViewSet):
    serializer_class = serializers.CitationSerializer
    filterset_class = filtersets.CitationFilterSet

    def get_queryset(self):
        return selectors.citation_list(self.request.user)


class StatsView(JSONErrorsMixin, VisitorsCachedReads, APIView):
    """Counts of projects and sums of their USD value, grouped, honouring every project filter.

    A project with several countries (or companies) counts once in each of their groups, so
    group totals may add up to more than `total`."""

    renderer_classes = READ_RENDERERS
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
        ],
        filters=True,
        responses=read_schema(serializers.StatsSerializer),
    )
    def get(self, request):
        return self.cached_read(self.answer, request)

    def answer(self, request):
        params = request.query_params.copy()
        group_by = params.pop("group_by", [None])[-1]
        year_of = params.pop("year_of", ["announced"])[-1]
        errors = {
            name: ["Statistics are not paginated."]
            for name in ("page", "page_size")
            if name in params
        }
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
        key = f"stats:{group_by}:{year_of}:{sorted(params.lists())}"
        stats = selectors.cached_for_visitors(
            request.user,
            key,
            lambda: project_stats(projects=filterset.qs, group_by=group_by, year_of=year_of),
        )
        if request.accepted_renderer.format == "csv":
            return Response(stats["results"])
        return Response(stats)


class CanImportDatasets(permissions.BasePermission):
    """Importing writes projects: it takes the right to add and change them."""

    def has_permission(self, request, view):
        return request.user.has_perms(DATASET_PERMISSIONS)


DATASET_PERMISSIONS = [
    "projects.add_datasetimport",
    "projects.view_datasetimport",
    "projects.add_project",
    "projects.change_project",
]


@extend_schema_view(
    list=extend_schema(summary="Dataset imports, newest first"),
    retrieve=extend_schema(summary="One dataset import: its state, progress and report"),
)
class DatasetImportViewSet(
    JSONErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = serializers.DatasetImportSerializer
    permission_classes = [permissions.IsAuthenticated, CanImportDatasets]
    pagination_class = PageNumberPagination
    parser_classes = [MultiPartParser]
    renderer_classes = [renderers.JSONRenderer]
    filter_backends = [DjangoFilterBackend]
    filterset_class = filtersets.DatasetImportFilterSet
    queryset = DatasetImport.objects.select_related("created_by")

    @extend_schema(
        request={"multipart/form-data": serializers.DatasetUploadSerializer},
        responses={
            201: OpenApiResponse(
                serializers.DatasetImportSerializer,
                description="A small file, imported at once: state done (or failed), report.",
            ),
            202: OpenApiResponse(
                serializers.DatasetImportSerializer,
                description="A large file, queued for a worker: follow its url.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        """POST a dataset (multipart: file, format, dry_run, atomic). Files up to
        DSR_DATASET_INLINE_BYTES are imported during the request (201, with the report);
        larger ones by a worker (202; `state`, `progress` and `report` tell how it goes)."""
        upload = serializers.DatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            job = datasets.dataset_import_create(user=request.user, **upload.validated_data)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        job = datasets.dataset_import_start(job=job)
        finished = job.state in (ImportState.DONE, ImportState.FAILED)
        data = self.get_serializer(job).data
        return Response(
            data, status=status.HTTP_201_CREATED if finished else status.HTTP_202_ACCEPTED
        )
