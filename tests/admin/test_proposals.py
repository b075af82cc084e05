"""The proposals queue: what an import proposes, and an editor's decision on it — accept as a
new draft project, attach to an existing one, or reject with a reason — through the services
and through the admin. A proposal is decided once, and processing its document again keeps
the decision."""

import pytest
from django.core.exceptions import ValidationError
from fpdf import FPDF

from projects.models import (
    Citation,
    ClaimKind,
    Company,
    Country,
    Project,
    ProjectCompany,
    ProjectCountry,
    Proposal,
    ProposalStatus,
    Publication,
)
from projects.services.imports import document_import, document_process, document_reprocess
from projects.services.proposals import proposal_accept, proposal_attach, proposal_reject

from .conftest import admin_url, messages_of, run_action

pytestmark = pytest.mark.django_db

CHINA_MOBILE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."
HUAWEI = "Huawei signed a contract for a data centre in Kenya."
HUAWEI_AGAIN = "Officials said Huawei will finish the data centre in Kenya next year."
ZTE = "ZTE may look at Peru one day."
PAGES = [f"Digital links in Asia. {CHINA_MOBILE}", f"{HUAWEI} {HUAWEI_AGAIN}", ZTE]
PAKISTAN = b"Huawei signed an agreement with Pakistan.\n"


def make_pdf(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def imported(data: bytes, filename: str):
    document = document_import(data=data, filename=filename, enqueue=False).document
    assert document_process(document.pk) == "done"
    return document


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def report():
    """A three-page PDF: China Mobile's links (page 1), Huawei's data centre in two sentences
    (page 2), and a weak mention of ZTE and Peru (page 3)."""
    return imported(make_pdf(PAGES), "report.pdf")


@pytest.fixture
def memo():
    """A second document: Huawei and Pakistan, with a medium confidence."""
    return imported(PAKISTAN, "memo.txt")


def proposal_of(document, company_slug: str) -> Proposal:
    return Proposal.objects.get(document=document, companies__slug=company_slug)


def country_roles(project) -> set[tuple[str, str]]:
    return set(ProjectCountry.objects.filter(project=project).values_list("country__iso2", "role"))


def company_roles(project) -> set[tuple[str, str]]:
    return set(ProjectCompany.objects.filter(project=project).values_list("company__slug", "role"))


def one_line(text: str) -> str:
    """PDF extraction keeps the line breaks of the page; compare words."""
    return " ".join(text.split())


def test_the_import_proposes_what_the_report_says(report):
    proposals = {p.page: p for p in Proposal.objects.filter(document=report)}
    assert set(proposals) == {1, 2, 3}
    assert all(p.status == ProposalStatus.PENDING for p in proposals.values())
    assert [one_line(s) for s in proposals[2].sentences] == [HUAWEI, HUAWEI_AGAIN]
    assert proposals[1].confidence >= 0.8 > 0.5 > proposals[3].confidence


# Accept ----------------------------------------------------------------------------------------


def test_accepting_creates_a_draft_project_from_the_proposal(report, editor):
    proposal = proposal_of(report, "china-mobile")

    project = proposal_accept(proposal=proposal, user=editor)

    project.refresh_from_db()
    assert project.name == (
        "China Mobile Communications Group Co., Ltd. fiber-optic link in Kyrgyzstan, Myanmar, Nepal"
    )
    assert project.publication == Publication.DRAFT
    assert project.project_type.slug == "fiber-link"
    assert country_roles(project) == {("KG", "host"), ("MM", "host"), ("NP", "host")}
    assert company_roles(project) == {("china-mobile", "partner")}
    citation = Citation.objects.get(project=project)
    assert (citation.document, citation.claim) == (report, ClaimKind.GENERAL)
    assert one_line(citation.quote) == CHINA_MOBILE
    assert citation.location == "page 1"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ACCEPTED
    assert proposal.project == project
    assert proposal.decided_by == editor
    assert proposal.decided_at is not None


def test_an_accepted_proposal_quotes_every_supporting_sentence(report, editor):
    project = proposal_accept(proposal=proposal_of(report, "huawei"), user=editor)

    quote = Citation.objects.get(project=project).quote
    assert [one_line(part) for part in quote.split("\n\n")] == [HUAWEI, HUAWEI_AGAIN]


def test_accepting_in_the_admin_decides_every_selected_proposal(report, client_as, editor):
    selected = [proposal_of(report, "china-mobile"), proposal_of(report, "huawei")]

    response = run_action(client_as("editor"), Proposal, "accept", selected)

    assert response.status_code == 302
    for proposal in selected:
        proposal.refresh_from_db()
        assert (proposal.status, proposal.decided_by) == (ProposalStatus.ACCEPTED, editor)
        assert proposal.project.publication == Publication.DRAFT


def test_an_acceptance_is_recorded_with_its_author(report, editor):
    project = proposal_accept(proposal=proposal_of(report, "huawei"), user=editor)

    inserted = project.pgh_event_model.objects.get(pgh_obj_id=project.pk, pgh_label="insert")
    context = inserted.pgh_context.metadata
    assert (context["service"], context["user"]) == ("proposal_accept", editor.pk)


# Attach ----------------------------------------------------------------------------------------


@pytest.fixture
def cable(make_project):
    """An existing project that has Myanmar and China Mobile already, in other roles."""
    project = make_project(name="Myanmar links", slug="myanmar-links")
    ProjectCountry.objects.create(
        project=project, country=Country.objects.get(iso2="MM"), role="transit"
    )
    ProjectCompany.objects.create(
        project=project, company=Company.objects.get(slug="china-mobile"), role="operator"
    )
    return project


def test_attaching_adds_the_citation_and_only_what_the_project_lacks(report, editor, cable):
    proposal = proposal_of(report, "china-mobile")

    proposal_attach(proposal=proposal, project=cable, user=editor)

    assert country_roles(cable) == {("MM", "transit"), ("KG", "host"), ("NP", "host")}
    assert company_roles(cable) == {("china-mobile", "operator")}
    citation = Citation.objects.get(project=cable)
    assert (citation.document, citation.claim, citation.location) == (report, "general", "page 1")
    assert one_line(citation.quote) == CHINA_MOBILE
    proposal.refresh_from_db()
    assert (proposal.status, proposal.project, proposal.decided_by) == (
        ProposalStatus.ATTACHED,
        cable,
        editor,
    )
    assert proposal.decided_at is not None


def test_attaching_appends_to_the_documents_general_citation(report, editor, cable):
    Citation.objects.create(
        project=cable, document=report, quote="An earlier passage.", location="page 9"
    )

    proposal_attach(proposal=proposal_of(report, "china-mobile"), project=cable, user=editor)
    proposal_attach(proposal=proposal_of(report, "huawei"), project=cable, user=editor)

    citation = Citation.objects.get(project=cable)
    parts = [one_line(part) for part in citation.quote.split("\n\n")]
    assert parts == ["An earlier passage.", CHINA_MOBILE, HUAWEI, HUAWEI_AGAIN]
    assert citation.location == "page 9"


def test_attaching_does_not_quote_a_passage_twice(report, editor, cable):
    proposal = proposal_of(report, "china-mobile")
    quoted = f"An earlier passage.\n\n{proposal.sentences[0]}"
    Citation.objects.create(project=cable, document=report, quote=quoted, location="page 1")

    proposal_attach(proposal=proposal, project=cable, user=editor)

    assert Citation.objects.get(project=cable).quote == quoted


def test_the_attach_page_suggests_the_project_the_proposal_matches(report, client_as, cable):
    proposal = proposal_of(report, "china-mobile")
    Proposal.objects.filter(pk=proposal.pk).update(project=cable)

    response = run_action(client_as("editor"), Proposal, "attach", [proposal])

    assert response.status_code == 200
    assert response.context["form"].initial == {"project": cable.pk}
    assert f'value="{cable.pk}" selected' in response.content.decode()


def test_attaching_in_the_admin(report, client_as, editor, cable):
    proposal = proposal_of(report, "china-mobile")

    response = run_action(
        client_as("editor"), Proposal, "attach", [proposal], apply="1", project=cable.pk
    )

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.project) == (ProposalStatus.ATTACHED, cable)
    assert Citation.objects.filter(project=cable, document=report).exists()


# Reject ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_needs_a_reason(report, editor, reason):
    proposal = proposal_of(report, "zte")

    with pytest.raises(ValidationError) as refused:
        proposal_reject(proposal=proposal, user=editor, reason=reason)

    assert "reason" in refused.value.message_dict
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


def test_a_rejection_keeps_its_reason_and_author(report, editor):
    proposal = proposal_of(report, "zte")

    proposal_reject(proposal=proposal, user=editor, reason="  Not a project.  ")

    proposal.refresh_from_db()
    assert (proposal.status, proposal.rejection_reason) == (
        ProposalStatus.REJECTED,
        "Not a project.",
    )
    assert (proposal.decided_by, proposal.project) == (editor, None)


def test_the_admin_asks_again_for_a_missing_reason(report, client_as):
    proposal = proposal_of(report, "zte")

    response = run_action(client_as("editor"), Proposal, "reject", [proposal], apply="1", reason="")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


# Decided once -----------------------------------------------------------------------------------

DECISIONS = {
    "accept": lambda proposal, user, project: proposal_accept(proposal=proposal, user=user),
    "attach": lambda proposal, user, project: proposal_attach(
        proposal=proposal, project=project, user=user
    ),
    "reject": lambda proposal, user, project: proposal_reject(
        proposal=proposal, user=user, reason="Duplicate."
    ),
}


@pytest.mark.parametrize("second", DECISIONS)
@pytest.mark.parametrize("first", DECISIONS)
def test_a_decided_proposal_is_not_decided_again(report, editor, cable, first, second):
    proposal = proposal_of(report, "china-mobile")
    DECISIONS[first](proposal, editor, cable)
    proposal.refresh_from_db()
    decided = (proposal.status, proposal.project_id, proposal.decided_at)
    projects, citations = Project.objects.count(), Citation.objects.count()

    with pytest.raises(ValidationError, match="decided once"):
        DECISIONS[second](proposal, editor, cable)

    proposal.refresh_from_db()
    assert (proposal.status, proposal.project_id, proposal.decided_at) == decided
    assert (Project.objects.count(), Citation.objects.count()) == (projects, citations)


def test_a_bulk_action_reports_the_decided_proposals_and_decides_the_others(
    report, client_as, editor
):
    decided = proposal_of(report, "zte")
    proposal_reject(proposal=decided, user=editor, reason="Too vague.")
    pending = [proposal_of(report, "china-mobile"), proposal_of(report, "huawei")]
    client = client_as("editor")

    response = run_action(client, Proposal, "accept", [decided, *pending])

    assert response.status_code == 302
    said = messages_of(client.get(response.url))
    assert "2 proposal(s) accepted as new draft projects." in said
    assert any("already rejected" in message for message in said)
    decided.refresh_from_db()
    assert decided.status == ProposalStatus.REJECTED
    for proposal in pending:
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.ACCEPTED


# The queue and its filters ----------------------------------------------------------------------


def queue(client, **filters) -> list[Proposal]:
    response = client.get(admin_url(Proposal, "changelist"), filters)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def decided_queue(report, memo, editor):
    """Both documents' proposals, the ZTE one rejected."""
    proposal_reject(proposal=proposal_of(report, "zte"), user=editor, reason="Vague.")
    return {
        "china-mobile": proposal_of(report, "china-mobile"),
        "huawei": proposal_of(report, "huawei"),
        "zte": proposal_of(report, "zte"),
        "pakistan": proposal_of(memo, "huawei"),
    }


def test_the_queue_lists_every_proposal_with_what_it_suggests(decided_queue, client_as):
    response = client_as("editor").get(admin_url(Proposal, "changelist"))

    assert set(decided_queue.values()) <= set(response.context["cl"].result_list)
    page = response.content.decode()
    assert "China Mobile is building fiber-optic links" in page
    assert "Huawei Technologies Co., Ltd. · Data center · in Kenya" in page


def test_the_queue_filters_by_status(decided_queue, client_as):
    client = client_as("editor")

    pending = queue(client, status__exact="pending")
    rejected = queue(client, status__exact="rejected")

    assert decided_queue["zte"] in rejected and decided_queue["zte"] not in pending
    assert {decided_queue[k] for k in ("china-mobile", "huawei", "pakistan")} <= set(pending)
    assert all(p.status == "pending" for p in pending)
    assert all(p.status == "rejected" for p in rejected)


@pytest.mark.parametrize(
    ("band", "low", "high", "expected"),
    [
        ("high", 0.8, 1.01, {"china-mobile", "huawei"}),
        ("medium", 0.5, 0.8, {"pakistan"}),
        ("low", 0.0, 0.5, {"zte"}),
    ],
)
def test_the_queue_filters_by_confidence(decided_queue, client_as, band, low, high, expected):
    found = queue(client_as("editor"), confidence=band)

    assert all(low <= p.confidence < high for p in found)
    ours = {key for key, proposal in decided_queue.items() if proposal in found}
    assert ours == expected


def test_the_queue_filters_by_document(decided_queue, client_as, memo):
    found = queue(client_as("editor"), document__id__exact=memo.pk)

    assert found == [decided_queue["pakistan"]]


def test_the_queue_filters_by_company(decided_queue, client_as):
    huawei = Company.objects.get(slug="huawei")

    found = queue(client_as("editor"), companies__id__exact=huawei.pk)

    assert set(found) == {decided_queue["huawei"], decided_queue["pakistan"]}


def test_the_queue_filters_by_country(decided_queue, client_as):
    nepal = Country.objects.get(iso2="NP")

    found = queue(client_as("editor"), countries__id__exact=nepal.pk)

    assert found == [decided_queue["china-mobile"]]


# Reprocessing -----------------------------------------------------------------------------------


def test_reprocessing_keeps_decisions_and_does_not_propose_them_again(report, editor, cable):
    accepted = proposal_of(report, "china-mobile")
    project = proposal_accept(proposal=accepted, user=editor)
    rejected = proposal_of(report, "zte")
    proposal_reject(proposal=rejected, user=editor, reason="Vague.")
    pending = proposal_of(report, "huawei")

    document_reprocess(report, enqueue=False)
    assert document_process(report.pk) == "done"

    proposals = Proposal.objects.filter(document=report)
    assert proposals.count() == 3
    assert proposals.get(pk=accepted.pk).status == ProposalStatus.ACCEPTED
    assert proposals.get(pk=accepted.pk).project == project
    assert proposals.get(pk=rejected.pk).rejection_reason == "Vague."
    renewed = proposals.get(key=pending.key)
    assert renewed.status == ProposalStatus.PENDING
    assert proposals.filter(status=ProposalStatus.PENDING).count() == 1
