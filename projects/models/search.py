from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class ProjectSearch(models.Model):
    """The full-text document of a project: its name and description and the names and
    aliases of its countries and companies, weighted A (name), B (related names), C (text).

    Kept up to date by PostgreSQL triggers (migration 0002) on projects, their role tables and
    the names of countries and companies, so that every write path — admin, API, bulk
    updates, imports — keeps search right. A separate table keeps it out of the history.
    """

    project = models.OneToOneField(
        "projects.Project",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="search",
    )
    document = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["document"], name="projectsearch_document_gin")]

    def __str__(self) -> str:
        return f"search document of project {self.project_id}"
