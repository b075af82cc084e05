import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Left
from django.urls import reverse

from projects.partial_dates import (
    partial_date_constraint,
    partial_date_fields,
    partial_date_property,
)

from .base import TimeStampedModel, choice_constraint, non_negative_constraint


class DocumentKind(models.TextChoices):
    NEWS = "news", "News article"
    REPORT = "report", "Report"
    PRESS_RELEASE = "press_release", "Press release"
    ACADEMIC = "academic", "Academic paper"
    GOVERNMENT = "government", "Government document"
    DATASET = "dataset", "Dataset"
    OTHER = "other", "Other"


class ProcessingStatus(models.TextChoices):
    METADATA_ONLY = "metadata_only", "Metadata only (no file)"
    QUEUED = "queued", "Queued"
    EXTRACTING = "extracting", "Extracting text"
    ANALYZING = "analyzing", "Analyzing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ClaimKind(models.TextChoices):
    GENERAL = "general", "The project as a whole"
    STATUS = "status", "Status"
    VALUE = "value", "Value"
    DATES = "dates", "Dates"
    COMPANIES = "companies", "Companies and their roles"
    COUNTRIES = "countries", "Countries and their roles"
    LENGTH = "length", "Length"
    CAPACITY = "capacity", "Capacity"
    LOCATION = "location", "Location"


# The processing bookkeeping changes many times per import; history records what editors
# curate, not every progress tick.
PROCESSING_FIELDS = [
    "status",
    "progress",
    "attempts",
    "error",
    "text",
    "page_count",
    "updated",
    "search_vector",
]
DOCUMENT_SEARCH_CHARACTERS = 300_000


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange(exclude=PROCESSING_FIELDS)),
    pghistory.DeleteEvent(),
    exclude=["text", "search_vector"],
)
class SourceDocument(TimeStampedModel):
    """A document that supports facts: a report, an article, a paper, with or without a file."""

    title = models.CharField(max_length=500)
    authors = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    published_on, published_precision = partial_date_fields("published")
    published = partial_date_property("published")
    url = models.URLField("URL", max_length=2000, blank=True, db_index=True)
    language = models.CharField(
        max_length=8, blank=True, db_index=True, help_text="ISO 639-1 code, e.g. en, fr, zh."
    )
    kind = models.CharField(max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=500, blank=True)
    original_filename = models.CharField(
        max_length=255, blank=True, help_text="The name of the file as it was uploaded."
    )
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="Size of the file in bytes.")
    sha256 = models.CharField("SHA-256", max_length=64, unique=True, null=True, blank=True)
    text = models.TextField(blank=True, help_text="Text extracted from the file.")
    page_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20,
        choices=ProcessingStatus.choices,
        default=ProcessingStatus.METADATA_ONLY,
        db_index=True,
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times processing started since the document was (re)queued."
    )
    error = models.TextField(blank=True, help_text="Why processing failed, for people.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # PostgreSQL limits a tsvector to 1 MB, so only the beginning of very long texts is indexed.
    search_vector = models.GeneratedField(
        expression=SearchVector(
            "title", Left("text", DOCUMENT_SEARCH_CHARACTERS), config="english"
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-published_on", "title"]
        indexes = [
            models.Index(fields=["kind"], name="document_kind_idx"),
            GinIndex(fields=["search_vector"], name="document_search_gin"),
        ]
        constraints = [
            choice_constraint("document", "kind", DocumentKind),
            choice_constraint("document", "status", ProcessingStatus),
            non_negative_constraint("document", "size"),
            partial_date_constraint("document", "published"),
            models.CheckConstraint(
                condition=models.Q(sha256__isnull=True) | models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="document_sha256_format",
                violation_error_message="sha256 is 64 lowercase hexadecimal digits.",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__gte=0, progress__lte=100),
                name="document_progress_percent",
                violation_error_message="Progress is a percentage from 0 to 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(file="", status=ProcessingStatus.METADATA_ONLY)
                | (~models.Q(file="") & ~models.Q(status=ProcessingStatus.METADATA_ONLY)),
                name="document_file_matches_status",
                violation_error_message="A document without a file is metadata only, "
                "and one with a file is processed.",
            ),
            models.CheckConstraint(
                condition=models.Q(file="") | models.Q(sha256__isnull=False, size__isnull=False),
                name="document_file_has_digest",
                violation_error_message="A stored file needs its size and sha256.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("projects:document-detail", kwargs={"pk": self.pk})


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Citation(TimeStampedModel):
    """The link from a project (and optionally one claim about it) to a supporting document."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="citations"
    )
    document = models.ForeignKey(SourceDocument, on_delete=models.PROTECT, related_name="citations")
    claim = models.CharField(max_length=20, choices=ClaimKind.choices, default=ClaimKind.GENERAL)
    quote = models.TextField(blank=True, help_text="The passage that supports the claim.")
    location = models.CharField(
        max_length=200, blank=True, help_text="Where in the document: page, section, paragraph."
    )

    class Meta:
        ordering = ["project", "claim"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "document", "claim"], name="citation_unique_claim"
            ),
            choice_constraint("citation", "claim", ClaimKind),
        ]

    def __str__(self) -> str:
        return f"{self.project} ← {self.document} ({self.get_claim_display()})"


class Mention(models.Model):
    """Where a document names a country, a company or a project type."""

    document = models.ForeignKey(SourceDocument, on_delete=models.CASCADE, related_name="mentions")
    start = models.PositiveIntegerField(help_text="Offset of the first character in the text.")
    end = models.PositiveIntegerField(help_text="Offset after the last character.")
    text = models.CharField(max_length=300, help_text="The matched words: text[start:end].")
    sentence = models.TextField(blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    # Indexed with the document (Meta.indexes): "the documents that mention Kenya" is then
    # read from the index alone.
    country = models.ForeignKey(
        "projects.Country",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mentions",
        db_index=False,
    )
    company = models.ForeignKey(
        "projects.Company",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mentions",
        db_index=False,
    )
    project_type = models.ForeignKey(
        "projects.ProjectType",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mentions",
    )

    class Meta:
        ordering = ["document", "start"]
        indexes = [
            models.Index(fields=["country", "document"], name="mention_country_document"),
            models.Index(fields=["company", "document"], name="mention_company_document"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")),
                name="mention_span_not_empty",
                violation_error_message="A mention ends after it starts.",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(country__isnull=False, company__isnull=True, project_type__isnull=True)
                    | models.Q(
                        country__isnull=True, company__isnull=False, project_type__isnull=True
                    )
                    | models.Q(
                        country__isnull=True, company__isnull=True, project_type__isnull=False
                    )
                ),
                name="mention_names_one_entity",
                violation_error_message="A mention names exactly one country, company or type.",
            ),
            models.UniqueConstraint(
                fields=["document", "start", "end"], name="mention_unique_span"
            ),
        ]

    def __str__(self) -> str:
        return self.text
