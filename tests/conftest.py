import pytest
from django.core.management import call_command


def load_reference_and_demo_data() -> None:
    from projects.roles import roles_sync

    roles_sync()  # a flushed database (transactional tests) lost the migration's groups
    with open("/dev/null", "w") as quiet:
        call_command("load_reference_data", stdout=quiet)
        call_command("load_demo", stdout=quiet)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference and demo data once, committed; each test rolls back around it."""
    with django_db_blocker.unblock():
        load_reference_and_demo_data()


@pytest.fixture
def committed_db(transactional_db):
    """A database whose writes really commit. Such tests run after the others and the
    database is emptied after each, so the reference and demo data are loaded again."""
    from projects.models import Country

    if not Country.objects.exists():
        load_reference_and_demo_data()


@pytest.fixture
def project_type(db):
    from projects.models import ProjectType

    return ProjectType.objects.get(slug="fiber-link")


@pytest.fixture
def make_project(db, project_type):
    from projects.models import Project

    def make(**fields):
        fields.setdefault("name", "Test link")
        fields.setdefault("slug", "test-link")
        fields.setdefault("project_type", project_type)
        return Project.objects.create(**fields)

    return make
