from django.conf import settings
from django.db import models

from .base import choice_constraint


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV (the export schema)"
    JSON = "json", "JSON (the export schema)"
    GEOJSON = "geojson", "GeoJSON (the export schema)"
    TELEGEOGRAPHY = "telegeography", "TeleGeography submarine cables (JSON files, zipped)"


class DatasetEntity(models.TextChoices):
    PROJECTS = "projects", "Projects"
    ORGANISATIONS = "organisations", "Organisations (the export of companies/)"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DatasetImport(models.Model):
    """One import of a structured dataset: the file, how it was asked for, and how it went."""

    format = models.CharField(max_length=20, choices=DatasetFormat.choices)
    entity = models.CharField(
        max_length=20,
        choices=DatasetEntity.choices,
        default=DatasetEntity.PROJECTS,
        help_text="What the file lists.",
    )
    file = models.FileField(upload_to="datasets/%Y/%m/", max_length=500)
    original_filename = models.CharField(max_length=300, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    dry_run = models.BooleanField(
        default=False, help_text="Report what the import would do and write nothing."
    )
    atomic = models.BooleanField(default=False, help_text="Write nothing when any row is rejected.")
    state = models.CharField(
        max_length=10, choices=ImportState.choices, default=ImportState.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    report = models.JSONField(
        default=dict,
        blank=True,
        help_text="created, updated, unchanged, rejected rows with reasons, unresolved names.",
    )
    error = models.TextField(blank=True, help_text="Why the whole import failed, for people.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dataset_imports",
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            choice_constraint("datasetimport", "format", DatasetFormat),
            choice_constraint("datasetimport", "entity", DatasetEntity),
            choice_constraint("datasetimport", "state", ImportState),
            models.CheckConstraint(
                condition=models.Q(progress__gte=0, progress__lte=100),
                name="datasetimport_progress_percent",
                violation_error_message="Progress is a percentage from 0 to 100.",
            ),
        ]

    def __str__(self) -> str:
        name = self.original_filename or self.file.name
        return f"{self.get_format_display()} import of {name}"
