import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from .base import TimeStampedModel, choice_constraint


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted (a new project)"
    ATTACHED = "attached", "Attached to an existing project"
    REJECTED = "rejected", "Rejected"


DECISION_FIELDS = ["status", "project", "decided_by", "decided_at", "rejection_reason"]


@pghistory.track(
    pghistory.UpdateEvent(condition=pghistory.AnyChange(*DECISION_FIELDS)),
    pghistory.DeleteEvent(),
)
class Proposal(TimeStampedModel):
    """A project that an imported document seems to describe, waiting for an editor.

    The pipeline groups a document's sentences that name the same organisations, kinds of
    project and countries; `key` identifies that group within the document, so processing
    the document again finds the same proposal instead of adding a second one.
    """

    document = models.ForeignKey(
        "projects.SourceDocument", on_delete=models.CASCADE, related_name="proposals"
    )
    key = models.CharField(max_length=64, help_text="The group's identity within the document.")
    companies = models.ManyToManyField("projects.Company", blank=True, related_name="proposals")
    project_types = models.ManyToManyField(
        "projects.ProjectType", blank=True, related_name="proposals"
    )
    countries = models.ManyToManyField("projects.Country", related_name="proposals")
    sentence = models.TextField(help_text="The sentence that supports it best.")
    sentences = ArrayField(
        models.TextField(), default=list, help_text="Every supporting sentence, in order."
    )
    start = models.PositiveIntegerField(
        default=0, help_text="Offset of the first supporting sentence in the document's text."
    )
    page = models.PositiveIntegerField(null=True, blank=True)
    confidence = models.FloatField(help_text="From 0 (a guess) to 1 (near certain).")
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
        help_text="An existing project it matches, or the project it became.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-confidence", "document", "start"]
        indexes = [
            models.Index(fields=["status", "-confidence"], name="proposal_queue_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["document", "key"], name="proposal_unique_key"),
            choice_constraint("proposal", "status", ProposalStatus),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1),
                name="proposal_confidence_range",
                violation_error_message="Confidence is between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ProposalStatus.REJECTED)
                | ~models.Q(rejection_reason=""),
                name="proposal_rejection_has_reason",
                violation_error_message="A rejected proposal says why.",
            ),
        ]

    def __str__(self) -> str:
        return self.sentence[:80]
