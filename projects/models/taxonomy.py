import pghistory
from django.db import models

from .base import TimeStampedModel, aliases_field, not_own_parent_constraint, slug_constraint


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ProjectType(TimeStampedModel):
    """A kind of project. Editors tune detection through `keywords` without touching code."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    keywords = aliases_field("Words and phrases that name this kind of project, any language.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists.")

    class Meta:
        ordering = ["position", "name"]
        constraints = [slug_constraint("projecttype")]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Initiative(TimeStampedModel):
    """The umbrella a project belongs to: Digital Silk Road, CPEC, …"""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    short_name = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    launched_year = models.PositiveSmallIntegerField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            slug_constraint("initiative"),
            models.CheckConstraint(
                condition=models.Q(launched_year__isnull=True)
                | models.Q(launched_year__gte=1900, launched_year__lte=2100),
                name="initiative_launched_year_range",
                violation_error_message="The launch year must lie between 1900 and 2100.",
            ),
            not_own_parent_constraint("initiative", "An initiative"),
        ]

    def __str__(self) -> str:
        return self.name
