import pghistory
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from projects.partial_dates import (
    partial_date_constraint,
    partial_date_fields,
    partial_date_property,
)

from .base import (
    TimeStampedModel,
    aliases_field,
    choice_constraint,
    coordinates_constraints,
    non_negative_constraint,
    slug_constraint,
)
from .landing_points import validate_landing_points


class Status(models.TextChoices):
    ANNOUNCED = "announced", "Announced"
    PLANNED = "planned", "Planned"
    UNDER_CONSTRUCTION = "under_construction", "Under construction"
    OPERATIONAL = "operational", "Operational"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"
    UNKNOWN = "unknown", "Unknown"


class Publication(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class CountryRole(models.TextChoices):
    HOST = "host", "Host"
    LANDING_POINT = "landing_point", "Landing point"
    TRANSIT = "transit", "Transit"


class CompanyRole(models.TextChoices):
    CONTRACTOR = "contractor", "Contractor"
    OPERATOR = "operator", "Operator"
    OWNER = "owner", "Owner"
    SUPPLIER = "supplier", "Supplier"
    FINANCIER = "financier", "Financier"
    INVESTOR = "investor", "Investor"
    PARTNER = "partner", "Partner"


class ProjectQuerySet(models.QuerySet):
    def published(self):
        return self.filter(publication=Publication.PUBLISHED)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Project(TimeStampedModel):
    name = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    aliases = aliases_field("Other names of the project, including those of merged duplicates.")
    description = models.TextField(blank=True)
    project_type = models.ForeignKey(
        "projects.ProjectType", on_delete=models.PROTECT, related_name="projects"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNKNOWN, db_index=True
    )
    countries = models.ManyToManyField(
        "projects.Country", through="ProjectCountry", related_name="projects"
    )
    companies = models.ManyToManyField(
        "projects.Company", through="ProjectCompany", related_name="projects"
    )
    initiatives = models.ManyToManyField(
        "projects.Initiative", through="ProjectInitiative", related_name="projects", blank=True
    )
    value_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    value_currency = models.CharField(
        max_length=3, blank=True, help_text="ISO 4217 code of the amount, e.g. USD, CNY, KES."
    )
    value_usd = models.DecimalField(
        "value in USD", max_digits=20, decimal_places=2, null=True, blank=True, db_index=True
    )
    announced_on, announced_precision = partial_date_fields("announced")
    started_on, started_precision = partial_date_fields("started")
    completed_on, completed_precision = partial_date_fields("completed")
    announced = partial_date_property("announced")
    started = partial_date_property("started")
    completed = partial_date_property("completed")
    length_km = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    capacity = models.CharField(max_length=200, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    geometry = models.JSONField(null=True, blank=True, help_text="A GeoJSON geometry.")
    landing_points = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_landing_points],
        help_text='Where a cable comes ashore: [{"name", "country", "country_name", '
        '"latitude", "longitude", "tbd", "id"}].',
    )
    external_ids = models.JSONField(
        default=dict, blank=True, help_text='Identifiers in other datasets: {"telegeography": …}'
    )
    publication = models.CharField(
        max_length=10, choices=Publication.choices, default=Publication.DRAFT
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("publish_project", "Can publish and unpublish projects")]
        indexes = [
            models.Index(fields=["publication", "-updated"], name="project_publication_upd_idx"),
            # The list's usual filters, with what its page is sorted by: a page's ids are
            # then found in the index alone (see ProjectViewSet.list_answer).
            models.Index(
                fields=["project_type", "status", "publication"],
                include=["id", "name"],
                name="project_type_status_pub",
            ),
            GinIndex(fields=["external_ids"], name="project_external_ids_gin"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="project_name_trgm"),
        ]
        constraints = [
            slug_constraint("project"),
            choice_constraint("project", "status", Status),
            choice_constraint("project", "publication", Publication),
            non_negative_constraint("project", "value_amount"),
            non_negative_constraint("project", "value_usd"),
            non_negative_constraint("project", "length_km"),
            models.CheckConstraint(
                condition=models.Q(value_amount__isnull=True, value_currency="")
                | models.Q(value_amount__isnull=False, value_currency__regex=r"^[A-Z]{3}$"),
                name="project_value_has_currency",
                violation_error_message="An amount needs its ISO 4217 currency, and vice versa.",
            ),
            partial_date_constraint("project", "announced"),
            partial_date_constraint("project", "started"),
            partial_date_constraint("project", "completed"),
            *coordinates_constraints("project"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:project-detail", kwargs={"slug": self.slug})


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ProjectCountry(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="country_roles")
    # Indexed with the project and with the role (Meta.indexes): a country's projects are
    # then read from an index alone.
    country = models.ForeignKey(
        "projects.Country", on_delete=models.PROTECT, related_name="project_roles", db_index=False
    )
    role = models.CharField(max_length=20, choices=CountryRole.choices, default=CountryRole.HOST)

    class Meta:
        verbose_name = "project country"
        verbose_name_plural = "project countries"
        indexes = [
            models.Index(fields=["country", "role"], name="projectcountry_country_role"),
            models.Index(fields=["country", "project"], name="projectcountry_country_project"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "country", "role"], name="projectcountry_unique_role"
            ),
            choice_constraint("projectcountry", "role", CountryRole),
        ]

    def __str__(self) -> str:
        return f"{self.country} ({self.get_role_display()})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ProjectCompany(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="company_roles")
    company = models.ForeignKey(
        "projects.Company", on_delete=models.PROTECT, related_name="project_roles", db_index=False
    )
    role = models.CharField(max_length=20, choices=CompanyRole.choices)

    class Meta:
        verbose_name = "project company"
        verbose_name_plural = "project companies"
        indexes = [
            models.Index(fields=["company", "role"], name="projectcompany_company_role"),
            models.Index(fields=["company", "project"], name="projectcompany_company_project"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "company", "role"], name="projectcompany_unique_role"
            ),
            choice_constraint("projectcompany", "role", CompanyRole),
        ]

    def __str__(self) -> str:
        return f"{self.company} ({self.get_role_display()})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ProjectInitiative(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="initiative_links")
    initiative = models.ForeignKey(
        "projects.Initiative", on_delete=models.PROTECT, related_name="project_links"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "initiative"], name="projectinitiative_unique"
            ),
        ]

    def __str__(self) -> str:
        return str(self.initiative)
