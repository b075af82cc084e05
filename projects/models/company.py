import pghistory
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from .base import (
    TimeStampedModel,
    aliases_field,
    choice_constraint,
    not_own_parent_constraint,
    slug_constraint,
)


class CompanyKind(models.TextChoices):
    FIRM = "firm", "Firm"
    BANK = "bank", "Bank"
    GOVERNMENT_AGENCY = "government_agency", "Government agency"
    INTERGOVERNMENTAL = "intergovernmental", "Intergovernmental body"
    RESEARCH = "research", "Research or academic body"
    OTHER = "other", "Other"


class Ownership(models.TextChoices):
    STATE_OWNED = "state_owned", "State-owned"
    STATE_CONTROLLED = "state_controlled", "State-controlled (listed or mixed)"
    PRIVATE = "private", "Private"
    LISTED = "listed", "Listed, no controlling state shareholder"
    PUBLIC_BODY = "public_body", "Public body"
    UNKNOWN = "unknown", "Unknown"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Company(TimeStampedModel):
    """Any organisation that takes part: firm, bank, government agency, intergovernmental body."""

    name = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    chinese_name = models.CharField(max_length=200, blank=True)
    aliases = aliases_field("Other names an article would use; each must name only this one.")
    kind = models.CharField(max_length=20, choices=CompanyKind.choices, default=CompanyKind.FIRM)
    ownership = models.CharField(
        max_length=20, choices=Ownership.choices, default=Ownership.UNKNOWN
    )
    headquarters = models.ForeignKey(
        "projects.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="headquartered_companies",
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="subsidiaries"
    )
    website = models.URLField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    external_ids = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        indexes = [
            models.Index(fields=["kind"], name="company_kind_idx"),
            models.Index(fields=["ownership"], name="company_ownership_idx"),
            GinIndex(fields=["aliases"], name="company_aliases_gin"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="company_name_trgm"),
        ]
        constraints = [
            choice_constraint("company", "kind", CompanyKind),
            choice_constraint("company", "ownership", Ownership),
            slug_constraint("company"),
            not_own_parent_constraint("company", "A company"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:company-detail", kwargs={"slug": self.slug})
