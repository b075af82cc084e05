import pytest
from django.core.management import call_command

from projects.models import (
    Citation,
    Company,
    Mention,
    Project,
    Proposal,
    SourceDocument,
)
from projects.services.reference import organisations_load, read_reference


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def empty_knowledge_base() -> None:
    """What a fresh installation holds: the reference data (countries, project types,
    initiatives, the reference organisations) and nothing anybody entered or imported."""
    Citation.objects.all().delete()
    Proposal.objects.all().delete()
    Mention.objects.all().delete()
    SourceDocument.objects.all().delete()
    Project.objects.all().delete()
    Company.objects.update(parent=None)
    Company.objects.all().delete()
    organisations_load(read_reference("organisations.json"))


def run(*args) -> tuple[int, str]:
    """call_command with the exit status a shell would see."""
    import io

    from django.core.management import CommandError

    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=out)
    except SystemExit as exit:
        return exit.code, out.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()
