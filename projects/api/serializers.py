"""Thin serializers: they translate between JSON and the models; services do the writing."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from projects.models import (
    Citation,
    Company,
    CompanyRole,
    Country,
    CountryRole,
    DatasetEntity,
    DatasetFormat,
    DatasetImport,
    Initiative,
    Mention,
    Project,
    ProjectType,
    Publication,
    SourceDocument,
    Status,
)
from projects.models.source import DocumentKind
from projects.services.projects import ProjectChanges, may_change_publication, project_save

from .fields import PartialDateField, PlainHyperlinkedIdentityField, brief, brief_field
from .validators import StorableJSONField, geojson_geometry, storable_text


def upper(value: str) -> str:
    return value.strip().upper()


def lower(value: str) -> str:
    return value.strip().lower()


@extend_schema_field({"type": "string", "pattern": "^([A-Z]{3})?$", "maxLength": 3})
class CurrencyField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs["max_length"] = 3
        kwargs["validators"] = [
            RegexValidator(r"^([A-Z]{3})?$", "An ISO 4217 code: three capital letters.")
        ]
        super().__init__(**kwargs)


class ServiceErrorsMixin:
    """Model validation raised by a service becomes a 400 naming the field."""

    def save(self, **kwargs):
        try:
            return super().save(**kwargs)
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise serializers.ValidationError(detail) from error


class ModelSerializer(ServiceErrorsMixin, serializers.ModelSerializer):
    """Validates the model itself (fields and database constraints) before saving, so that a
    broken invariant is a 400 with the constraint's message, not a database error; JSON fields
    refuse what PostgreSQL cannot store."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.JSONField: StorableJSONField,
    }

    def create(self, validated_data):
        instance = self.Meta.model(**validated_data)
        instance.full_clean(validate_unique=False)
        instance.save()
        return instance

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.full_clean(validate_unique=False)
        instance.save()
        return instance


class CountrySerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(
        view_name="api:country-detail", lookup_field="iso2", lookup_url_kwarg="iso2"
    )
    project_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Country
        fields = [
            "id",
            "url",
            "iso2",
            "iso3",
            "numeric",
            "name",
            "official_name",
            "slug",
            "region",
            "subregion",
            "aliases",
            "names",
            "latitude",
            "longitude",
            "bri_joined_on",
            "project_count",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]


class CompanySerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:company-detail", lookup_field="slug")
    headquarters = brief_field(
        "iso2",
        "api:country-detail",
        queryset=Country.objects.all(),
        normalize=upper,
        allow_null=True,
        required=False,
    )
    parent = brief_field(
        "slug",
        "api:company-detail",
        queryset=Company.objects.all(),
        normalize=lower,
        allow_null=True,
        required=False,
    )
    project_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Company
        fields = [
            "id",
            "url",
            "slug",
            "name",
            "chinese_name",
            "aliases",
            "kind",
            "ownership",
            "headquarters",
            "parent",
            "website",
            "description",
            "external_ids",
            "project_count",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]


class ProjectTypeSerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:projecttype-detail", lookup_field="slug")

    class Meta:
        model = ProjectType
        fields = ["id", "url", "slug", "name", "description", "keywords", "position"]


class InitiativeSerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:initiative-detail", lookup_field="slug")
    parent = brief_field(
        "slug",
        "api:initiative-detail",
        queryset=Initiative.objects.all(),
        normalize=lower,
        allow_null=True,
        required=False,
    )

    class Meta:
        model = Initiative
        fields = [
            "id",
            "url",
            "slug",
            "name",
            "short_name",
            "description",
            "launched_year",
            "parent",
        ]


class RoleSerializer(serializers.Serializer):
    """An entity (by its key) with its role in a project. Complete even inside a PATCH, which
    replaces the whole list."""

    key = ""
    model = None
    target = ""
    view_name = ""
    noun = ""

    def to_representation(self, instance):
        request = self.context.get("request")
        entity = getattr(instance, self.target)
        return {**brief(entity, self.key, self.view_name, request), "role": instance.role}

    def validate(self, attrs):
        missing = [name for name in (self.key, "role") if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {name: ["This field is required."] for name in missing}
            )
        value = attrs[self.key]
        if not self.model.objects.filter(**{self.key: value}).exists():
            raise serializers.ValidationError({self.key: [f"Unknown {self.noun} {value!r}."]})
        return attrs


class CountryRoleSerializer(RoleSerializer):
    key, model, target, view_name, noun = (
        "iso2",
        Country,
        "country",
        "api:country-detail",
        "country code",
    )
    iso2 = serializers.CharField(max_length=2, help_text="ISO alpha-2 code of the country.")
    name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=CountryRole.choices)
    url = serializers.URLField(read_only=True)

    def validate_iso2(self, value: str) -> str:
        return upper(value)


class CompanyRoleSerializer(RoleSerializer):
    key, model, target, view_name, noun = (
        "slug",
        Company,
        "company",
        "api:company-detail",
        "organisation",
    )
    slug = serializers.SlugField(max_length=200, help_text="Slug of the organisation.")
    name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=CompanyRole.choices)
    url = serializers.URLField(read_only=True)

    def validate_slug(self, value: str) -> str:
        return lower(value)


class LandingPointSerializer(serializers.Serializer):
    """Where a cable comes ashore."""

    id = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        default=None,
        help_text="Its id in the dataset it came from.",
    )
    name = serializers.CharField(max_length=300, help_text="The town or station.")
    country = serializers.CharField(
        min_length=2,
        max_length=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO alpha-2 code; null when the country is not known or not resolved.",
    )
    country_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        default=None,
        help_text="The country as the source wrote it.",
    )
    latitude = serializers.FloatField(
        min_value=-90, max_value=90, required=False, allow_null=True, default=None
    )
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True, default=None
    )
    tbd = serializers.BooleanField(
        required=False, default=False, help_text="The landing point is still to be decided."
    )

    def validate_country(self, value):
        return upper(value) if value else None

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError("latitude and longitude go together.")
        return storable_text(dict(attrs))


class SourceSerializer(serializers.ModelSerializer):
    """A citation as the project shows it: the document, the claim and the quoted passage."""

    document = serializers.PrimaryKeyRelatedField(read_only=True)
    url = serializers.CharField(source="document.url", read_only=True)
    title = serializers.CharField(source="document.title", read_only=True)

    class Meta:
        model = Citation
        fields = ["document", "url", "title", "claim", "quote", "location"]
        read_only_fields = fields


def unique_pairs(items: list[dict], key: str, what: str) -> list[dict]:
    pairs = [(item[key], item["role"]) for item in items]
    if len(pairs) != len(set(pairs)):
        raise serializers.ValidationError(f"Each {what} may have each role only once.")
    return items


class ProjectSerializer(ServiceErrorsMixin, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = PlainHyperlinkedIdentityField(view_name="api:project-detail", lookup_field="slug")
    slug = serializers.SlugField(
        max_length=200, validators=[UniqueValidator(queryset=Project.objects.all())]
    )
    name = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    type = brief_field(
        "slug",
        "api:projecttype-detail",
        queryset=ProjectType.objects.all(),
        normalize=lower,
        source="project_type",
    )
    status = serializers.ChoiceField(choices=Status.choices, default=Status.UNKNOWN)
    publication = serializers.ChoiceField(
        choices=Publication.choices,
        default=Publication.DRAFT,
        help_text="Publishing needs the permission projects.publish_project.",
    )
    countries = CountryRoleSerializer(many=True, required=False, source="country_roles")
    companies = CompanyRoleSerializer(many=True, required=False, source="company_roles")
    initiatives = serializers.SerializerMethodField()
    initiative_slugs = serializers.ListField(
        child=serializers.SlugField(),
        write_only=True,
        required=False,
        help_text="Slugs of the initiatives the project belongs to (replaces the list).",
    )
    value_amount = serializers.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    value_currency = CurrencyField(
        required=False, allow_blank=True, default="", help_text="ISO 4217 code of value_amount."
    )
    value_usd = serializers.DecimalField(
        max_digits=20, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    announced = PartialDateField()
    started = PartialDateField()
    completed = PartialDateField()
    length_km = serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=0, required=False, allow_null=True
    )
    capacity = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True
    )
    geometry = serializers.JSONField(
        required=False,
        allow_null=True,
        validators=[geojson_geometry],
        help_text="A GeoJSON geometry (RFC 7946), e.g. a cable's route as a MultiLineString.",
    )
    landing_points = LandingPointSerializer(many=True, required=False, default=list)
    external_ids = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False, default=dict
    )
    sources = SourceSerializer(
        many=True,
        read_only=True,
        source="citations",
        help_text="The documents cited for the project (or one of its claims), with the quotes.",
    )
    citation_count = serializers.IntegerField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
        }
    )
    def get_initiatives(self, instance) -> list[dict]:
        request = self.context.get("request")
        return [
            brief(link.initiative, "slug", "api:initiative-detail", request)
            for link in instance.initiative_links.all()
        ]

    def validate_external_ids(self, value):
        return storable_text(value)

    def validate_countries(self, value):
        return unique_pairs(value, "iso2", "country")

    def validate_companies(self, value):
        return unique_pairs(value, "slug", "organisation")

    def validate_initiative_slugs(self, value):
        slugs = [lower(v) for v in value]
        known = set(Initiative.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown initiatives: {', '.join(unknown)}.")
        return slugs

    def validate_publication(self, value):
        request = self.context.get("request")
        current = self.instance.publication if self.instance else Publication.DRAFT
        if not may_change_publication(request and request.user, current, value):
            raise serializers.ValidationError(
                "Only reviewers (permission projects.publish_project) publish or unpublish."
            )
        return value

    def _changes(self, data: dict) -> ProjectChanges:
        fields = {
            k: v
            for k, v in data.items()
            if k
            not in {
                "country_roles",
                "company_roles",
                "initiative_slugs",
                "announced",
                "started",
                "completed",
            }
        }
        if "landing_points" in fields:
            fields["landing_points"] = [dict(point) for point in fields["landing_points"]]
        for name in ("announced", "started", "completed"):
            if name in data:
                date = data[name]
                fields[f"{name}_on"] = date.date if date else None
                fields[f"{name}_precision"] = date.precision if date else ""
        return ProjectChanges(
            fields=fields,
            countries=[(c["iso2"], c["role"]) for c in data["country_roles"]]
            if "country_roles" in data
            else None,
            companies=[(c["slug"], c["role"]) for c in data["company_roles"]]
            if "company_roles" in data
            else None,
            initiatives=data.get("initiative_slugs"),
        )

    def create(self, validated_data):
        return project_save(project=None, changes=self._changes(validated_data))[0]

    def update(self, instance, validated_data):
        return project_save(project=instance, changes=self._changes(validated_data))[0]


class DocumentSerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:sourcedocument-detail")
    source_url = serializers.URLField(
        source="url",
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Where the document was published.",
    )
    published = PartialDateField()
    file = serializers.FileField(read_only=True, use_url=True)

    class Meta:
        model = SourceDocument
        fields = [
            "id",
            "url",
            "title",
            "authors",
            "publisher",
            "published",
            "source_url",
            "language",
            "kind",
            "file",
            "original_filename",
            "media_type",
            "size",
            "sha256",
            "page_count",
            "status",
            "progress",
            "error",
            "created",
            "updated",
        ]
        read_only_fields = [
            "original_filename",
            "media_type",
            "size",
            "sha256",
            "page_count",
            "status",
            "progress",
            "error",
            "created",
            "updated",
        ]

    def _dates(self, validated_data):
        if "published" in validated_data:
            date = validated_data.pop("published")
            validated_data["published_on"] = date.date if date else None
            validated_data["published_precision"] = date.precision if date else ""
        return validated_data

    def create(self, validated_data):
        return super().create(self._dates(validated_data))

    def update(self, instance, validated_data):
        return super().update(instance, self._dates(validated_data))


class ImportMetadataSerializer(serializers.Serializer):
    """Optional facts about an imported document; what is missing is read from the document."""

    title = serializers.CharField(required=False, allow_blank=True, max_length=500)
    authors = serializers.CharField(
        required=False, allow_blank=True, help_text="Names separated by ';'."
    )
    publisher = serializers.CharField(required=False, allow_blank=True, max_length=300)
    date = serializers.CharField(
        required=False, allow_blank=True, help_text="Publication date: YYYY, YYYY-MM or YYYY-MM-DD."
    )
    source_url = serializers.URLField(
        required=False, allow_blank=True, max_length=2000, help_text="Where it was published."
    )
    language = serializers.CharField(
        required=False, allow_blank=True, max_length=8, help_text="ISO 639-1; detected if empty."
    )
    kind = serializers.ChoiceField(choices=DocumentKind.choices, required=False)
    reprocess = serializers.BooleanField(
        default=False, help_text="Process again if the same bytes were imported before."
    )

    def metadata(self) -> dict:
        ignored = {"reprocess", "file", "url"}  # not metadata: what to import and how
        data = {k: v for k, v in self.validated_data.items() if k not in ignored and v != ""}
        if "source_url" in data:
            data["url"] = data.pop("source_url")
        return data


class DocumentUploadSerializer(ImportMetadataSerializer):
    file = serializers.FileField(
        help_text="PDF, HTML, DOCX, plain text or Markdown; the type is read from the content."
    )

    field_order = ["file"]


class DocumentFetchSerializer(ImportMetadataSerializer):
    # Checked by the fetcher, whose refusals say why (only http(s), public addresses).
    url = serializers.CharField(
        max_length=2000,
        help_text="An http(s) address on the public internet to download the document from.",
    )


class MentionSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    key = serializers.SerializerMethodField(help_text="Country ISO code or organisation/type slug.")
    name = serializers.SerializerMethodField()

    class Meta:
        model = Mention
        fields = ["start", "end", "text", "sentence", "page", "kind", "key", "name"]

    @staticmethod
    def _entity(mention):
        for kind in ("country", "company", "project_type"):
            entity = getattr(mention, kind)
            if entity is not None:
                return kind, entity
        raise AssertionError("a mention names one entity")

    def get_kind(self, mention) -> str:
        return self._entity(mention)[0]

    def get_key(self, mention) -> str:
        kind, entity = self._entity(mention)
        return entity.iso2 if kind == "country" else entity.slug

    def get_name(self, mention) -> str:
        return self._entity(mention)[1].name


class CitationSerializer(ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:citation-detail")
    project = brief_field(
        "slug", "api:project-detail", queryset=Project.objects.all(), normalize=lower
    )
    document = serializers.PrimaryKeyRelatedField(queryset=SourceDocument.objects.all())
    document_title = serializers.CharField(source="document.title", read_only=True)

    class Meta:
        model = Citation
        fields = [
            "id",
            "url",
            "project",
            "document",
            "document_title",
            "claim",
            "quote",
            "location",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]
        validators = []

    def validate(self, attrs):
        instance = self.instance
        project = attrs.get("project", instance.project if instance else None)
        document = attrs.get("document", instance.document if instance else None)
        claim = attrs.get("claim", instance.claim if instance else "general")
        clash = Citation.objects.filter(project=project, document=document, claim=claim)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"claim": "This project already cites this document for this claim."}
            )
        return attrs


class StatsRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="ISO code, slug, status, region or year (as text).")
    label = serializers.CharField()
    projects = serializers.IntegerField()
    value_usd = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)


class StatsTotalSerializer(serializers.Serializer):
    projects = serializers.IntegerField()
    value_usd = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)
    with_value = serializers.IntegerField(help_text="How many projects have a USD value.")


class StatsSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    year_of = serializers.CharField(allow_null=True)
    total = StatsTotalSerializer()
    results = StatsRowSerializer(many=True)


class DatasetImportSerializer(serializers.ModelSerializer):
    url = PlainHyperlinkedIdentityField(view_name="api:datasetimport-detail")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    report = serializers.JSONField(
        read_only=True,
        help_text='{"format", "dry_run", "atomic", "created", "updated", "unchanged", '
        '"rejected": [{"row", "reason"}], "unresolved": {"countries", "companies"}}',
    )

    class Meta:
        model = DatasetImport
        fields = [
            "id",
            "url",
            "format",
            "entity",
            "original_filename",
            "size",
            "dry_run",
            "atomic",
            "state",
            "progress",
            "report",
            "error",
            "created_by",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV, JSON or GeoJSON in the export schema, or TeleGeography cables (a zip "
        "of the folder of per-cable files, or one JSON file)."
    )
    format = serializers.ChoiceField(choices=DatasetFormat.choices)
    entity = serializers.ChoiceField(
        choices=DatasetEntity.choices,
        default=DatasetEntity.PROJECTS,
        help_text="What the file lists: projects, or organisations (CSV or JSON).",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Report what the import would do; write nothing."
    )
    atomic = serializers.BooleanField(
        default=False, help_text="Write nothing when any row is rejected."
    )
