from django.contrib.postgres.fields import ArrayField
from django.db import models


class TimeStampedModel(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


def aliases_field(help_text: str) -> ArrayField:
    return ArrayField(
        models.CharField(max_length=200), default=list, blank=True, help_text=help_text
    )


def choice_constraint(model_name: str, field: str, choices: type[models.TextChoices]):
    """The database, not only the form, refuses a value outside the field's choices."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}),
        name=f"{model_name}_{field}_valid",
        violation_error_message=f"{field} must be one of: {', '.join(choices.values)}.",
    )


def non_negative_constraint(model_name: str, field: str):
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gte": 0}),
        name=f"{model_name}_{field}_non_negative",
        violation_error_message=f"{field} cannot be negative.",
    )


def coordinates_constraints(model_name: str):
    """Latitude and longitude come together and lie on the globe."""
    return [
        models.CheckConstraint(
            condition=models.Q(latitude__isnull=True, longitude__isnull=True)
            | models.Q(
                latitude__isnull=False,
                longitude__isnull=False,
                latitude__gte=-90,
                latitude__lte=90,
                longitude__gte=-180,
                longitude__lte=180,
            ),
            name=f"{model_name}_coordinates_valid",
            violation_error_message="Latitude (-90..90) and longitude (-180..180) go together.",
        ),
    ]


SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def slug_constraint(model_name: str):
    return models.CheckConstraint(
        condition=models.Q(slug__regex=SLUG_PATTERN),
        name=f"{model_name}_slug_format",
        violation_error_message="A slug is lowercase letters, digits and single hyphens.",
    )


def not_own_parent_constraint(model_name: str, label: str):
    return models.CheckConstraint(
        condition=~models.Q(parent=models.F("pk")),
        name=f"{model_name}_not_own_parent",
        violation_error_message=f"{label} cannot be its own parent.",
    )
