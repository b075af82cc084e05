import pghistory
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.urls import reverse

from .base import TimeStampedModel, aliases_field, coordinates_constraints, slug_constraint


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Country(TimeStampedModel):
    """An ISO 3166-1 country or territory, loaded from reference data."""

    iso2 = models.CharField("ISO alpha-2", max_length=2, unique=True)
    iso3 = models.CharField("ISO alpha-3", max_length=3, unique=True)
    numeric = models.CharField("ISO numeric", max_length=3, unique=True)
    name = models.CharField(max_length=200)
    official_name = models.CharField(max_length=300, blank=True)
    slug = models.SlugField(max_length=200, unique=True)
    region = models.CharField("UN region", max_length=100, blank=True, db_index=True)
    subregion = models.CharField("UN subregion", max_length=100, blank=True, db_index=True)
    aliases = aliases_field(
        "Other names: common and former names, demonyms, names in other languages."
    )
    names = models.JSONField(
        default=dict, blank=True, help_text="The country's name by language code."
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    bri_joined_on = models.DateField("joined the Belt and Road", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"
        indexes = [GinIndex(fields=["aliases"], name="country_aliases_gin")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(iso2__regex=r"^[A-Z]{2}$"),
                name="country_iso2_format",
                violation_error_message="iso2 is two capital letters.",
            ),
            models.CheckConstraint(
                condition=models.Q(iso3__regex=r"^[A-Z]{3}$"),
                name="country_iso3_format",
                violation_error_message="iso3 is three capital letters.",
            ),
            models.CheckConstraint(
                condition=models.Q(numeric__regex=r"^[0-9]{3}$"),
                name="country_numeric_format",
                violation_error_message="The numeric code is three digits.",
            ),
            slug_constraint("country"),
            *coordinates_constraints("country"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:country-detail", kwargs={"iso2": self.iso2.lower()})
