"""One FilterSet per model, shared by the REST API and the pages.

Filters are strict: an unknown country code, a malformed year, a non-number amount, an
unknown ordering field, an unknown parameter or a NUL byte are errors naming the parameter
(HTTP 400 in the API), never silently ignored.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Exists, F, OuterRef, Q
from django.forms.utils import ErrorDict, ErrorList
from django_filters.widgets import QueryArrayWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import (
    Citation,
    ClaimKind,
    Company,
    CompanyKind,
    CompanyRole,
    Country,
    DatasetEntity,
    DatasetFormat,
    DatasetImport,
    DocumentKind,
    ImportState,
    Initiative,
    Mention,
    Ownership,
    ProcessingStatus,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    SourceDocument,
    Status,
)
from .selectors import visible_projects

# Parameters that are not filters but are understood by the API's views.
VIEW_PARAMETERS = {"page", "page_size", "format"}
MIN_YEAR, MAX_YEAR = 1900, 2100


class ValuesField(forms.Field):
    """Several values, given repeated (`?x=a&x=b`) or comma-separated (`?x=a,b`)."""

    widget = QueryArrayWidget

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        result = []
        for item in values:
            for part in str(item).split(","):
                part = part.strip()
                if part and part not in result:
                    result.append(part)
        return result


class KeyedValuesField(ValuesField):
    """Values of a model's unique key (ISO code, slug), cleaned to the matching objects' ids."""

    def __init__(self, *, model, key: str, normalize, noun: str, **kwargs):
        self.model, self.key, self.normalize, self.noun = model, key, normalize, noun
        self.queryset = model.objects.all()
        super().__init__(**kwargs)

    def clean(self, value) -> list[int]:
        values = [self.normalize(v) for v in super().clean(value)]
        if not values:
            return []
        matching = self.queryset.filter(**{f"{self.key}__in": values})
        found = dict(matching.values_list(self.key, "pk"))
        unknown = [v for v in values if v not in found]
        if unknown:
            raise ValidationError(
                "Unknown %(noun)s: %(values)s.",
                code="unknown",
                params={"noun": self.noun, "values": ", ".join(unknown)},
            )
        return [found[v] for v in values]


class ChoicesField(ValuesField):
    def __init__(self, *, choices, **kwargs):
        self.valid = [value for value, _ in choices]
        super().__init__(**kwargs)

    def clean(self, value) -> list[str]:
        values = [v.lower() for v in super().clean(value)]
        unknown = [v for v in values if v not in self.valid]
        if unknown:
            raise ValidationError(
                "Unknown value %(values)s; expected one of: %(valid)s.",
                code="invalid_choice",
                params={"values": ", ".join(unknown), "valid": ", ".join(self.valid)},
            )
        return values


class StrictBooleanField(forms.Field):
    TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in self.TRUE:
            return True
        if word in self.FALSE:
            return False
        raise ValidationError("Expected true or false.", code="invalid")


ARRAY_OF_STRINGS = {"type": "array", "items": {"type": "string"}}


class RegionField(forms.CharField):
    """A UN region or subregion (case-insensitive) that some country belongs to."""

    def __init__(self, *, columns=("region", "subregion"), **kwargs):
        self.columns = columns
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        value = (super().clean(value) or "").strip()
        known = Q()
        for column in self.columns:
            known |= Q(**{f"{column}__iexact": value})
        if value and not Country.objects.filter(known).exists():
            names = set()
            for column in self.columns:
                names.update(Country.objects.values_list(column, flat=True))
            raise ValidationError(
                "Unknown %(what)s. Known: %(names)s.",
                code="unknown",
                params={
                    "what": " or ".join(self.columns),
                    "names": ", ".join(sorted(names - {""})),
                },
            )
        return value


class RegionFilter(filters.CharFilter):
    field_class = RegionField


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class AmountFilter(filters.NumberFilter):
    """An amount in USD: at most 18 digits before the point and 2 after."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class StableOrderingFilter(filters.OrderingFilter):
    """Ordering with the primary key as the last tie-break, so pages never overlap."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:
            qs = qs.order_by(*qs.query.order_by, "pk")
        return qs


@extend_schema_field(ARRAY_OF_STRINGS)
class KeyedFilter(filters.Filter):
    """Values of a unique key. `scope(request)`, when given, limits the accepted objects to
    those the requester may see, so that an unknown and a hidden key answer alike."""

    field_class = KeyedValuesField

    def __init__(self, *args, scope=None, **kwargs):
        self.scope = scope
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        field = super().field
        if self.scope is not None:
            field.queryset = self.scope(getattr(self.parent, "request", None))
        return field

    def filter(self, qs, ids):
        return qs.filter(**{f"{self.field_name}_id__in": ids}) if ids else qs


@extend_schema_field(ARRAY_OF_STRINGS)
class ChoicesFilter(filters.Filter):
    field_class = ChoicesField

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.INT)
class MomentField(filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, as UTC. An offset PostgreSQL cannot take (beyond ±15:59, which
    Python accepts up to ±23:59) is converted here rather than refused by the database."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError("The moment is outside the years 1 to 9999.") from None


class MomentFilter(filters.IsoDateTimeFilter):
    field_class = MomentField


class YearFilter(filters.NumberFilter):
    """A year, compared with a date column on the first or the last day of that year."""

    field_class = forms.IntegerField

    def __init__(self, *args, bound: str, **kwargs):
        self.bound = bound
        kwargs.setdefault("min_value", MIN_YEAR)
        kwargs.setdefault("max_value", MAX_YEAR)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if self.bound == "from":
            return qs.filter(**{f"{self.field_name}__gte": dt.date(value, 1, 1)})
        return qs.filter(**{f"{self.field_name}__lte": dt.date(value, 12, 31)})


def keyed(model, key: str, noun: str, normalize=str.strip, **kwargs) -> KeyedFilter:
    return KeyedFilter(model=model, key=key, noun=noun, normalize=normalize, **kwargs)


def iso2(value: str) -> str:
    return value.strip().upper()


def slug(value: str) -> str:
    return value.strip().lower()


class StrictFilterSet(filters.FilterSet):
    """Refuses unknown parameters and NUL bytes, naming the parameter."""

    def parameter_errors(self) -> ErrorDict:
        errors = ErrorDict()
        known = {*self.filters, *VIEW_PARAMETERS}
        for name in self.data:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data[name]]
            if "\x00" in name or any("\x00" in str(value) for value in values):
                message, code = "NUL characters are not allowed.", "null_characters_not_allowed"
            elif name not in known:
                message = f"Unknown parameter. Known parameters: {', '.join(sorted(known))}."
                code = "unknown_parameter"
            else:
                continue
            errors[name.replace("\x00", "\\x00")] = ErrorList([ValidationError(message, code)])
        return errors

    def is_valid(self) -> bool:
        self._parameter_errors = self.parameter_errors()
        if any(
            e.data[0].code == "null_characters_not_allowed" for e in self._parameter_errors.values()
        ):
            # The form's fields would pass the NUL byte on to the database: stop here.
            return False
        return super().is_valid() and not self._parameter_errors

    @property
    def errors(self) -> ErrorDict:
        parameter_errors = getattr(self, "_parameter_errors", ErrorDict())
        if any(e.data[0].code == "null_characters_not_allowed" for e in parameter_errors.values()):
            return parameter_errors
        return ErrorDict({**self.form.errors, **parameter_errors})


def text_search(queryset, value: str, *lookups: str):
    """Rows where any of the lookups ("name__icontains", "iso2__iexact", …) matches `value`."""
    value = value.strip()
    if not value:
        return queryset
    matches = Q()
    for lookup in lookups:
        matches |= Q(**{lookup: value})
    return queryset.filter(matches)


def search_query(text: str) -> SearchQuery:
    """Web-search syntax ("quoted phrases", OR, -exclusion), stemmed and unstemmed."""
    return SearchQuery(text, config="english", search_type="websearch") | SearchQuery(
        text, config="simple", search_type="websearch"
    )


class ProjectFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Full-text search, ranked")
    country = keyed(Country, "iso2", "country code", iso2, method="filter_country")
    region = RegionFilter(method="filter_region", label="UN region or subregion")
    company = keyed(Company, "slug", "company", slug, method="filter_company")
    company_role = ChoicesFilter(choices=CompanyRole.choices, method="filter_company")
    type = keyed(ProjectType, "slug", "project type", slug, field_name="project_type")
    initiative = keyed(Initiative, "slug", "initiative", slug, method="filter_initiative")
    status = ChoicesFilter(choices=Status.choices, field_name="status")
    announced_from = YearFilter(field_name="announced_on", bound="from")
    announced_to = YearFilter(field_name="announced_on", bound="to")
    completed_from = YearFilter(field_name="completed_on", bound="from")
    completed_to = YearFilter(field_name="completed_on", bound="to")
    value_min = AmountFilter(field_name="value_usd", lookup_expr="gte")
    value_max = AmountFilter(field_name="value_usd", lookup_expr="lte")
    updated_since = MomentFilter(field_name="updated", lookup_expr="gte")
    has_citations = StrictBooleanFilter(method="filter_has_citations")
    ordering = StableOrderingFilter(
        fields=[
            ("name", "name"),
            ("status", "status"),
            ("announced_on", "announced"),
            ("started_on", "started"),
            ("completed_on", "completed"),
            ("value_usd", "value_usd"),
            ("length_km", "length_km"),
            ("updated", "updated"),
            ("created", "created"),
        ],
    )

    class Meta:
        model = Project
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        if not value.strip():
            return queryset
        query = search_query(value)
        return (
            queryset.filter(search__document=query)
            .annotate(rank=SearchRank(F("search__document"), query))
            .order_by("-rank", "name", "pk")
        )

    def filter_country(self, queryset, name, ids):
        if not ids:
            return queryset
        roles = ProjectCountry.objects.filter(project=OuterRef("pk"), country_id__in=ids)
        return queryset.filter(Exists(roles))

    def filter_region(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        matching = Q(country__region__iexact=value) | Q(country__subregion__iexact=value)
        roles = ProjectCountry.objects.filter(matching, project=OuterRef("pk"))
        return queryset.filter(Exists(roles))

    def filter_company(self, queryset, name, value):
        # company and company_role describe the same role row: Huawei *as* contractor.
        if name == "company_role" and self.form.cleaned_data.get("company"):
            return queryset
        ids = self.form.cleaned_data.get("company") or []
        roles = self.form.cleaned_data.get("company_role") or []
        if not ids and not roles:
            return queryset
        rows = ProjectCompany.objects.filter(project=OuterRef("pk"))
        if ids:
            rows = rows.filter(company_id__in=ids)
        if roles:
            rows = rows.filter(role__in=roles)
        return queryset.filter(Exists(rows))

    def filter_initiative(self, queryset, name, ids):
        if not ids:
            return queryset
        links = ProjectInitiative.objects.filter(project=OuterRef("pk"), initiative_id__in=ids)
        return queryset.filter(Exists(links))

    def filter_has_citations(self, queryset, name, value):
        if value is None:
            return queryset
        cited = Exists(Citation.objects.filter(project=OuterRef("pk")))
        return queryset.filter(cited if value else ~cited)


class CountryFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Name, alias or ISO code")
    region = RegionFilter(field_name="region", lookup_expr="iexact", columns=["region"])
    subregion = RegionFilter(field_name="subregion", lookup_expr="iexact", columns=["subregion"])
    has_projects = StrictBooleanFilter(method="filter_has_projects")
    ordering = StableOrderingFilter(
        fields=[
            ("name", "name"),
            ("iso2", "iso2"),
            ("region", "region"),
            ("subregion", "subregion"),
            ("project_count", "project_count"),
        ]
    )

    class Meta:
        model = Country
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return text_search(
            queryset,
            value,
            "name__icontains",
            "official_name__icontains",
            "iso2__iexact",
            "iso3__iexact",
            "aliases__icontains",
        )

    def filter_has_projects(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(project_count__gt=0) if value else queryset.filter(project_count=0)


class CompanyFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Name, Chinese name or alias")
    country = keyed(
        Country,
        "iso2",
        "country code",
        iso2,
        field_name="headquarters",
        label="Headquarters country (ISO alpha-2)",
    )
    kind = ChoicesFilter(choices=CompanyKind.choices, field_name="kind")
    ownership = ChoicesFilter(choices=Ownership.choices, field_name="ownership")
    ordering = StableOrderingFilter(
        fields=[
            ("name", "name"),
            ("kind", "kind"),
            ("ownership", "ownership"),
            ("project_count", "project_count"),
        ]
    )

    class Meta:
        model = Company
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return text_search(
            queryset,
            value,
            "name__icontains",
            "chinese_name__icontains",
            "slug__iexact",
            "aliases__icontains",
        )


class ProjectTypeFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Name or keyword")
    ordering = StableOrderingFilter(fields=[("position", "position"), ("name", "name")])

    class Meta:
        model = ProjectType
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return text_search(queryset, value, "name__icontains", "keywords__icontains")


class InitiativeFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Name")
    ordering = StableOrderingFilter(fields=[("name", "name"), ("launched_year", "launched_year")])

    class Meta:
        model = Initiative
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return text_search(queryset, value, "name__icontains", "short_name__iexact")


class DocumentFilterSet(StrictFilterSet):
    q = filters.CharFilter(method="filter_q", label="Full-text search in title and text")
    language = filters.CharFilter(
        field_name="language",
        lookup_expr="iexact",
        validators=[RegexValidator(r"^[A-Za-z]{2,3}$", "An ISO 639 code: two or three letters.")],
    )
    kind = ChoicesFilter(choices=DocumentKind.choices, field_name="kind")
    status = ChoicesFilter(choices=ProcessingStatus.choices, field_name="status")
    published_from = YearFilter(field_name="published_on", bound="from")
    published_to = YearFilter(field_name="published_on", bound="to")
    mentions_country = keyed(Country, "iso2", "country code", iso2, method="filter_mentions")
    mentions_company = keyed(Company, "slug", "company", slug, method="filter_mentions")
    ordering = StableOrderingFilter(
        fields=[("published_on", "published"), ("title", "title"), ("created", "created")]
    )

    class Meta:
        model = SourceDocument
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        if not value.strip():
            return queryset
        query = SearchQuery(value, config="english", search_type="websearch")
        return (
            queryset.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "pk")
        )

    def filter_mentions(self, queryset, name, ids):
        if not ids:
            return queryset
        field = "country_id" if name == "mentions_country" else "company_id"
        mentions = Mention.objects.filter(document=OuterRef("pk"), **{f"{field}__in": ids})
        return queryset.filter(Exists(mentions))


class CitationFilterSet(StrictFilterSet):
    project = keyed(
        Project,
        "slug",
        "project",
        slug,
        field_name="project",
        scope=lambda request: visible_projects(getattr(request, "user", None)),
    )
    document = IntegerFilter(field_name="document_id", min_value=1, max_value=2**63 - 1)
    claim = ChoicesFilter(choices=ClaimKind.choices, field_name="claim")

    class Meta:
        model = Citation
        fields: list[str] = []


class DatasetImportFilterSet(StrictFilterSet):
    """`file_format`, not `format`: `?format=` chooses the answer's rendering everywhere."""

    state = ChoicesFilter(choices=ImportState.choices, field_name="state")
    file_format = ChoicesFilter(choices=DatasetFormat.choices, field_name="format")
    entity = ChoicesFilter(choices=DatasetEntity.choices, field_name="entity")

    class Meta:
        model = DatasetImport
        fields: list[str] = []
