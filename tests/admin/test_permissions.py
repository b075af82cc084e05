"""Who may change what through the admin. Anonymous visitors are sent to log in; editors
create and edit entries, upload documents and handle proposals; reviewers also publish,
unpublish, merge and delete; only a superuser deletes reference data (countries, kinds of
project, initiatives). Every operation is checked for its answer and for its effect on the
database, whether it was allowed or refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.models import (
    Citation,
    Company,
    Country,
    CountryRole,
    Initiative,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectType,
    Proposal,
    ProposalStatus,
    Publication,
    SourceDocument,
)
from projects.models.source import ProcessingStatus
from projects.services.imports import document_import

from .conftest import (
    ROLES,
    USERNAMES,
    action_names,
    admin_url,
    form_data,
    is_login_redirect,
    messages_of,
    revert_url,
    run_action,
)

pytestmark = pytest.mark.django_db

STAFF = ("editor", "reviewer", "superuser")
PUBLISHERS = ("reviewer", "superuser")
SUPERUSER = ("superuser",)
DRAFT, IN_REVIEW, PUBLISHED = Publication.DRAFT, Publication.IN_REVIEW, Publication.PUBLISHED


def allowed(response, role: str, roles: tuple[str, ...], *, status: int = 302) -> bool:
    """Check the answer to `role`: anonymous visitors go to the login page, `roles` get
    `status`, anyone else 403. Returns whether the operation should have taken effect."""
    if role == "anonymous":
        assert is_login_redirect(response), response.status_code
        return False
    if role in roles:
        assert response.status_code == status, response.status_code
        return True
    assert response.status_code == 403, response.status_code
    return False


def action_allowed(response, role: str, roles: tuple[str, ...], *, status: int = 302) -> bool:
    """Like `allowed`, for a changelist action: an action the user may not run is not
    offered, so posting it only brings the changelist back: redirected to it with "No
    action selected", or shown again when the user is offered no action at all."""
    if role == "anonymous" or role in roles:
        return allowed(response, role, roles, status=status)
    if response.status_code == 200:
        assert response.context["action_form"] is None
    else:
        assert response.status_code == 302
        assert response.url == response.wsgi_request.get_full_path()
    return False


def country(iso2: str) -> Country:
    return Country.objects.get(iso2=iso2)


def company(slug: str) -> Company:
    return Company.objects.get(slug=slug)


@pytest.fixture
def document():
    return SourceDocument.objects.create(title="Field report", url="https://example.org/report")


@pytest.fixture
def project(make_project, document):
    """A draft with a country, an organisation and a citation."""
    project = make_project(name="Permissions link", slug="permissions-link")
    ProjectCountry.objects.create(project=project, country=country("KE"), role=CountryRole.HOST)
    ProjectCompany.objects.create(project=project, company=company("huawei"), role="contractor")
    Citation.objects.create(project=project, document=document, quote="Huawei laid it.")
    return project


def with_publication(project: Project, publication: str) -> Project:
    Project.objects.filter(pk=project.pk).update(publication=publication)
    project.refresh_from_db()
    return project


def publication_of(project: Project) -> str:
    return Project.objects.values_list("publication", flat=True).get(pk=project.pk)


# Projects: add, change, delete -----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_adding_a_project_with_a_country(role, client_as, form_as, project_type):
    data = form_as(role, Project)
    data.update(
        name="Added link",
        slug="added-link",
        project_type=str(project_type.pk),
        **{"country_roles-0-country": str(country("NP").pk), "country_roles-0-role": "host"},
    )

    response = client_as(role).post(admin_url(Project, "add"), data)

    if allowed(response, role, STAFF):
        added = Project.objects.get(slug="added-link")
        assert added.publication == DRAFT
        assert list(added.country_roles.values_list("country__iso2", "role")) == [("NP", "host")]
    else:
        assert not Project.objects.filter(slug="added-link").exists()


@pytest.mark.parametrize("role", ROLES)
def test_changing_a_project(role, client_as, form_as, project):
    data = form_as(role, Project, project)
    data["name"] = "Renamed link"

    response = client_as(role).post(admin_url(Project, "change", project.pk), data)

    project.refresh_from_db()
    assert project.name == (
        "Renamed link" if allowed(response, role, STAFF) else "Permissions link"
    )


@pytest.mark.parametrize("role", ROLES)
def test_deleting_a_project(role, client_as, project):
    response = client_as(role).post(admin_url(Project, "delete", project.pk), {"post": "yes"})

    deleted = allowed(response, role, PUBLISHERS)
    assert Project.objects.filter(pk=project.pk).exists() is not deleted


@pytest.mark.parametrize("role", ROLES)
def test_deleting_selected_projects(role, client_as, project, make_project):
    other = make_project(name="Other link", slug="other-link")

    response = run_action(client_as(role), Project, "delete_selected", [project, other], post="yes")

    deleted = action_allowed(response, role, PUBLISHERS)
    assert Project.objects.filter(pk__in=[project.pk, other.pk]).count() == (0 if deleted else 2)


# Projects: publication through the change form ---------------------------------------------

TRANSITIONS = [
    (DRAFT, IN_REVIEW),
    (IN_REVIEW, DRAFT),
    (DRAFT, PUBLISHED),
    (IN_REVIEW, PUBLISHED),
    (PUBLISHED, DRAFT),
    (PUBLISHED, IN_REVIEW),
]


@pytest.mark.parametrize(("before", "after"), TRANSITIONS)
@pytest.mark.parametrize("role", ROLES)
def test_changing_the_publication_in_the_form(role, before, after, client_as, form_as, project):
    with_publication(project, before)
    data = form_as(role, Project, project)
    data["publication"] = after

    response = client_as(role).post(admin_url(Project, "change", project.pk), data)

    editors_may = PUBLISHED not in (before, after)
    if role == "editor" and not editors_may:
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors["publication"] == ["Only reviewers publish a project or unpublish it."]
        assert publication_of(project) == before
    elif allowed(response, role, STAFF):
        assert publication_of(project) == after
    else:
        assert publication_of(project) == before


def test_an_editor_is_not_offered_to_publish_a_draft(client_as, project):
    response = client_as("editor").get(admin_url(Project, "change", project.pk))

    offered = [
        value for value, _ in response.context["adminform"].form["publication"].field.widget.choices
    ]
    assert offered == [DRAFT, IN_REVIEW]


# Projects: changelist actions -----------------------------------------------------------------

OFFERED_ACTIONS = {
    (Project, "editor"): {"submit_for_review", "return_to_draft"},
    (Project, "reviewer"): {
        "delete_selected",
        "submit_for_review",
        "publish",
        "return_to_draft",
        "merge",
    },
    (Company, "editor"): set(),
    (Company, "reviewer"): {"delete_selected", "merge"},
    (Proposal, "editor"): {"accept", "attach", "reject"},
    (Proposal, "reviewer"): {"delete_selected", "accept", "attach", "reject"},
    (SourceDocument, "editor"): {"reprocess"},
    (SourceDocument, "reviewer"): {"delete_selected", "reprocess"},
    (Country, "editor"): set(),
    (Country, "reviewer"): set(),
    (ProjectType, "editor"): set(),
    (ProjectType, "reviewer"): set(),
}


@pytest.mark.parametrize(
    ("model", "role"), OFFERED_ACTIONS, ids=lambda v: getattr(v, "__name__", v)
)
def test_the_actions_offered_follow_the_role(model, role, client_as):
    assert action_names(client_as(role), model) == OFFERED_ACTIONS[model, role]


@pytest.mark.parametrize("model", [Project, Company, Proposal, SourceDocument, Country])
def test_a_superuser_is_offered_every_action(model, client_as):
    reviewer_actions = OFFERED_ACTIONS.get((model, "reviewer"), set())
    assert action_names(client_as("superuser"), model) == reviewer_actions | {"delete_selected"}


@pytest.mark.parametrize("role", ROLES)
def test_submitting_drafts_for_review(role, client_as, project, make_project):
    published = with_publication(make_project(name="Live", slug="live"), PUBLISHED)

    response = run_action(client_as(role), Project, "submit_for_review", [project, published])

    submitted = allowed(response, role, STAFF)
    assert publication_of(project) == (IN_REVIEW if submitted else DRAFT)
    assert publication_of(published) == PUBLISHED


@pytest.mark.parametrize("role", ROLES)
def test_returning_projects_to_draft(role, client_as, project, make_project):
    in_review = with_publication(project, IN_REVIEW)
    published = with_publication(make_project(name="Live", slug="live"), PUBLISHED)

    response = run_action(client_as(role), Project, "return_to_draft", [in_review, published])

    returned = allowed(response, role, STAFF)
    assert publication_of(in_review) == (DRAFT if returned else IN_REVIEW)
    # Taking a published project back is unpublishing it: reviewers only.
    assert publication_of(published) == (DRAFT if role in PUBLISHERS else PUBLISHED)


@pytest.mark.parametrize("role", ROLES)
def test_publishing_projects(role, client_as, project, make_project):
    in_review = with_publication(make_project(name="Reviewed", slug="reviewed"), IN_REVIEW)

    client = client_as(role)

    response = run_action(client, Project, "publish", [project, in_review])

    if action_allowed(response, role, PUBLISHERS):
        assert publication_of(project) == publication_of(in_review) == PUBLISHED
    else:
        assert (publication_of(project), publication_of(in_review)) == (DRAFT, IN_REVIEW)
    if role == "editor":
        followed = client.get(response.url)
        assert "No action selected." in messages_of(followed)


# Merging ------------------------------------------------------------------------------------


def merge_through_the_admin(client, model, objects, survivor, role) -> bool:
    """The merge action's two steps: the page that asks which entry survives, then the
    answer. Returns whether the role may merge."""
    asked = run_action(client, model, "merge", objects)
    may = action_allowed(asked, role, PUBLISHERS, status=200)
    if may:
        assert "admin/projects/action_form.html" in [t.name for t in asked.templates]
        assert set(asked.context["form"].fields["survivor"].queryset) == set(objects)
    answered = run_action(client, model, "merge", objects, apply="1", survivor=str(survivor.pk))
    assert action_allowed(answered, role, PUBLISHERS) is may
    return may


@pytest.mark.parametrize("role", ROLES)
def test_merging_projects(role, client_as, project, make_project):
    duplicate = make_project(name="Permissions link (dup)", slug="permissions-link-dup")

    merged = merge_through_the_admin(client_as(role), Project, [project, duplicate], project, role)

    assert Project.objects.filter(pk=duplicate.pk).exists() is not merged
    project.refresh_from_db()
    assert project.aliases == (["Permissions link (dup)"] if merged else [])


@pytest.mark.parametrize("role", ROLES)
def test_merging_companies(role, client_as):
    kept = Company.objects.create(name="Merge Kept", slug="merge-kept")
    duplicate = Company.objects.create(name="Merge Duplicate", slug="merge-duplicate")

    merged = merge_through_the_admin(client_as(role), Company, [kept, duplicate], kept, role)

    assert Company.objects.filter(pk=duplicate.pk).exists() is not merged
    kept.refresh_from_db()
    assert kept.aliases == (["Merge Duplicate"] if merged else [])


# Proposals ----------------------------------------------------------------------------------


@pytest.fixture
def proposal(document):
    proposal = Proposal.objects.create(
        document=document,
        key="permissions",
        sentence="Huawei is building a data centre in Kenya.",
        sentences=["Huawei is building a data centre in Kenya."],
        confidence=0.85,
    )
    proposal.companies.add(company("huawei"))
    proposal.countries.add(country("KE"))
    proposal.project_types.add(ProjectType.objects.get(slug="data-center"))
    return proposal


def status_of(proposal: Proposal) -> str:
    proposal.refresh_from_db()
    return proposal.status


@pytest.mark.parametrize("role", ROLES)
def test_accepting_a_proposal(role, client_as, proposal):
    projects = Project.objects.count()

    response = run_action(client_as(role), Proposal, "accept", [proposal])

    accepted = action_allowed(response, role, STAFF)
    assert status_of(proposal) == (ProposalStatus.ACCEPTED if accepted else ProposalStatus.PENDING)
    assert Project.objects.count() == projects + accepted
    if accepted:
        assert proposal.project.publication == DRAFT


@pytest.mark.parametrize("role", ROLES)
def test_attaching_a_proposal_to_a_project(role, client_as, proposal, project):
    client = client_as(role)

    asked = run_action(client, Proposal, "attach", [proposal])
    answered = run_action(client, Proposal, "attach", [proposal], apply="1", project=project.pk)

    if action_allowed(asked, role, STAFF, status=200):
        assert "project" in asked.context["form"].fields
        assert answered.status_code == 302
        assert status_of(proposal) == ProposalStatus.ATTACHED
        assert proposal.project == project
    else:
        assert status_of(proposal) == ProposalStatus.PENDING
        assert is_login_redirect(answered)


@pytest.mark.parametrize("role", ROLES)
def test_rejecting_a_proposal_with_a_reason(role, client_as, proposal):
    client = client_as(role)

    asked = run_action(client, Proposal, "reject", [proposal])
    answered = run_action(client, Proposal, "reject", [proposal], apply="1", reason="A plan.")

    if action_allowed(asked, role, STAFF, status=200):
        assert "reason" in asked.context["form"].fields
        assert answered.status_code == 302
        assert status_of(proposal) == ProposalStatus.REJECTED
        assert proposal.rejection_reason == "A plan."
        assert proposal.decided_by.username == USERNAMES[role]
    else:
        assert status_of(proposal) == ProposalStatus.PENDING
        assert is_login_redirect(answered)


# Documents ----------------------------------------------------------------------------------

NOTES = b"China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan.\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize("role", ROLES)
def test_opening_the_import_page(role, client_as):
    response = client_as(role).get(admin_url(SourceDocument, "import"))

    if allowed(response, role, STAFF, status=200):
        assert "file" in response.context["form"].fields


@pytest.mark.parametrize("role", ROLES)
def test_importing_a_document(role, client_as, media, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("notes.txt", NOTES, content_type="text/plain")

    with django_capture_on_commit_callbacks() as enqueued:
        response = client_as(role).post(
            admin_url(SourceDocument, "import"), {"file": upload, "title": "Field notes"}
        )

    stored = SourceDocument.objects.filter(title="Field notes").first()
    if allowed(response, role, STAFF):
        assert stored is not None
        assert response.url == admin_url(SourceDocument, "change", stored.pk)
        assert stored.uploaded_by.username == USERNAMES[role]
        assert stored.status == ProcessingStatus.QUEUED
        assert len(enqueued) == 1
    else:
        assert stored is None
        assert enqueued == []


@pytest.mark.parametrize("role", ROLES)
def test_reprocessing_a_document(role, client_as, media, django_capture_on_commit_callbacks):
    stored = document_import(data=NOTES, filename="notes.txt", enqueue=False).document
    SourceDocument.objects.filter(pk=stored.pk).update(status=ProcessingStatus.DONE, progress=100)

    with django_capture_on_commit_callbacks() as enqueued:
        response = run_action(client_as(role), SourceDocument, "reprocess", [stored])

    stored.refresh_from_db()
    if action_allowed(response, role, STAFF):
        assert (stored.status, stored.progress) == (ProcessingStatus.QUEUED, 0)
        assert len(enqueued) == 1
    else:
        assert stored.status == ProcessingStatus.DONE
        assert enqueued == []


# History: revert ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reverting_a_project_from_its_history(role, client_as, project):
    version = project.pgh_event_model.objects.filter(pgh_obj_id=project.pk).latest("pgh_id")
    Project.objects.filter(pk=project.pk).update(name="Vandalised")

    response = client_as(role).post(revert_url(project, version.pgh_id))

    project.refresh_from_db()
    if allowed(response, role, STAFF):
        assert response.url == admin_url(Project, "history", project.pk)
        assert project.name == "Permissions link"
    else:
        assert project.name == "Vandalised"


@pytest.mark.parametrize(("then", "now"), [(DRAFT, PUBLISHED), (PUBLISHED, DRAFT)])
@pytest.mark.parametrize("role", ROLES)
def test_reverting_across_publication_is_for_reviewers(role, then, now, client_as, project):
    with_publication(project, then)
    version = project.pgh_event_model.objects.filter(pgh_obj_id=project.pk).latest("pgh_id")
    with_publication(project, now)
    client = client_as(role)

    response = client.post(revert_url(project, version.pgh_id))

    if allowed(response, role, STAFF) and role in PUBLISHERS:
        assert publication_of(project) == then
    else:
        assert publication_of(project) == now
    if role == "editor":
        said = " ".join(messages_of(client.get(response.url)))
        assert "only reviewers publish a project or unpublish it" in said


@pytest.mark.parametrize("role", STAFF)
def test_a_get_does_not_revert(role, client_as, project):
    version = project.pgh_event_model.objects.filter(pgh_obj_id=project.pk).latest("pgh_id")
    Project.objects.filter(pk=project.pk).update(name="Vandalised")

    response = client_as(role).get(revert_url(project, version.pgh_id))

    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name == "Vandalised"


# Companies, countries, kinds of project, initiatives, documents ------------------------------


def new_country():
    return Country.objects.create(
        iso2="QZ", iso3="QZZ", numeric="998", name="Testland", slug="testland"
    )


def new_project_type():
    return ProjectType.objects.create(name="Test kind", slug="test-kind", keywords=["test kit"])


def new_initiative():
    return Initiative.objects.create(name="Test initiative", slug="test-initiative")


def new_company():
    return Company.objects.create(name="Test Company", slug="test-company")


def new_document():
    return SourceDocument.objects.create(title="Old report", url="https://example.org/old")


ADDITIONS = [
    (Company, {"name": "Added Co", "slug": "added-co"}, {"slug": "added-co"}),
    (
        Country,
        {"iso2": "QY", "iso3": "QYY", "numeric": "997", "name": "Addland", "slug": "addland"},
        {"iso2": "QY"},
    ),
]


@pytest.mark.parametrize(("model", "values", "lookup"), ADDITIONS, ids=["company", "country"])
@pytest.mark.parametrize("role", ROLES)
def test_adding_an_entry(role, model, values, lookup, client_as, form_as):
    data = {**form_as(role, model), **values}

    response = client_as(role).post(admin_url(model, "add"), data)

    assert model.objects.filter(**lookup).exists() is allowed(response, role, STAFF)


CHANGES = [
    (new_company, "name", "Renamed Co", "Renamed Co"),
    (new_country, "official_name", "Republic of Testland", "Republic of Testland"),
    (new_project_type, "keywords", "test kit,testing rig", ["test kit", "testing rig"]),
    (new_initiative, "short_name", "TI", "TI"),
    (new_document, "title", "Newer report", "Newer report"),
]


@pytest.mark.parametrize(
    ("make", "field", "submitted", "stored"),
    CHANGES,
    ids=["company", "country", "project-type-keywords", "initiative", "document"],
)
@pytest.mark.parametrize("role", ROLES)
def test_changing_an_entry(role, make, field, submitted, stored, client_as, form_as):
    obj = make()
    before = getattr(obj, field)
    data = {**form_as(role, type(obj), obj), field: submitted}

    response = client_as(role).post(admin_url(type(obj), "change", obj.pk), data)

    obj.refresh_from_db()
    assert getattr(obj, field) == (stored if allowed(response, role, STAFF) else before)


def new_citation():
    project = Project.objects.get(slug="peace-submarine-cable")
    return Citation.objects.create(project=project, document=new_document(), quote="Laid.")


def new_proposal():
    return Proposal.objects.create(
        document=new_document(), key="delete-me", sentence="Huawei in Kenya.", confidence=0.4
    )


DELETIONS = [
    (new_company, PUBLISHERS),
    (new_document, PUBLISHERS),
    (new_proposal, PUBLISHERS),
    (new_citation, STAFF),
    (new_country, SUPERUSER),
    (new_project_type, SUPERUSER),
    (new_initiative, SUPERUSER),
]


@pytest.mark.parametrize(
    ("make", "roles"),
    DELETIONS,
    ids=["company", "document", "proposal", "citation", "country", "project-type", "initiative"],
)
@pytest.mark.parametrize("role", ROLES)
def test_deleting_an_entry(role, make, roles, client_as):
    obj = make()

    response = client_as(role).post(admin_url(type(obj), "delete", obj.pk), {"post": "yes"})

    deleted = allowed(response, role, roles)
    assert type(obj).objects.filter(pk=obj.pk).exists() is not deleted


@pytest.mark.parametrize("role", ROLES)
def test_reordering_kinds_of_project_in_the_list(role, client_as):
    kind = new_project_type()
    reader = client_as("superuser" if role == "anonymous" else role)
    page = reader.get(admin_url(ProjectType, "changelist"), {"q": "Test kind"})
    data = form_data(page, "changelist-form")
    data.update({"form-0-position": "42", "_save": "Save"})

    response = client_as(role).post(admin_url(ProjectType, "changelist") + "?q=Test+kind", data)

    kind.refresh_from_db()
    assert kind.position == (42 if allowed(response, role, STAFF) else 0)


# A project's parts, removed in its form --------------------------------------------------------


@pytest.mark.parametrize("prefix", ["citations", "country_roles", "company_roles"])
@pytest.mark.parametrize("role", ROLES)
def test_removing_a_row_of_a_project_in_its_form(role, prefix, client_as, form_as, project):
    rows = getattr(project, prefix)
    assert rows.count() == 1
    data = form_as(role, Project, project)
    data[f"{prefix}-0-DELETE"] = "on"

    response = client_as(role).post(admin_url(Project, "change", project.pk), data)

    assert rows.count() == (0 if allowed(response, role, STAFF) else 1)
