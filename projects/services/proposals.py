"""Editors' decisions on proposals: accept (a new draft project), attach (to an existing
project) or reject (with a reason). Every decision cites the document with the proposal's
sentences, is recorded in the history with its author, and happens once: a decided proposal
is not decided again."""

from __future__ import annotations

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from projects.models import (
    ClaimKind,
    CompanyRole,
    CountryRole,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectType,
    Proposal,
    ProposalStatus,
    Publication,
)
from projects.services.documents import citation_upsert
from projects.services.projects import ProjectChanges, project_save

# What the pipeline cannot know: a proposed company's role and a country's. Editors refine.
DEFAULT_COMPANY_ROLE = CompanyRole.PARTNER
DEFAULT_COUNTRY_ROLE = CountryRole.HOST
FALLBACK_TYPE = "other"


def _context(proposal: Proposal, user, action: str):
    return pghistory.context(
        service=f"proposal_{action}", proposal=proposal.pk, user=user.pk if user else None
    )


def _undecided(proposal: Proposal) -> Proposal:
    """The proposal locked for the decision; a ValidationError if it was decided already."""
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != ProposalStatus.PENDING:
        raise ValidationError(
            f"This proposal was already {locked.get_status_display().lower()}; it is decided once."
        )
    return locked


def _quote(proposal: Proposal) -> str:
    return "\n\n".join(proposal.sentences or [proposal.sentence])


def _location(proposal: Proposal) -> str:
    return f"page {proposal.page}" if proposal.page else ""


def _decide(proposal: Proposal, status: str, user, project=None, reason: str = "") -> None:
    proposal.status = status
    proposal.project = project
    proposal.decided_by = user if user is not None and user.is_authenticated else None
    proposal.decided_at = timezone.now()
    proposal.rejection_reason = reason
    proposal.full_clean()
    proposal.save()


def proposed_name(proposal: Proposal) -> str:
    """A working name for the project: "Huawei data center in Kenya"."""
    companies = " and ".join(c.name for c in proposal.companies.order_by("name")[:2])
    kinds = ", ".join(t.name.lower() for t in proposal.project_types.order_by("position"))
    countries = ", ".join(c.name for c in proposal.countries.order_by("name"))
    name = " ".join(part for part in (companies, kinds or "project", "in", countries) if part)
    return name[:300]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:180] or "project"
    slug, number = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug = f"{base}-{number}"
        number += 1
    return slug


@transaction.atomic
def proposal_accept(*, proposal: Proposal, user, name: str = "") -> Project:
    """Create a draft project from the proposal, citing its document with its sentences."""
    with _context(proposal, user, "accept"):
        proposal = _undecided(proposal)
        project_type = (
            proposal.project_types.order_by("position").first()
            or ProjectType.objects.filter(slug=FALLBACK_TYPE).first()
        )
        if project_type is None:
            raise ValidationError("The proposal names no kind of project and 'other' is missing.")
        name = name.strip() or proposed_name(proposal)
        project, _ = project_save(
            project=None,
            changes=ProjectChanges(
                fields={
                    "name": name,
                    "slug": _unique_slug(name),
                    "project_type": project_type,
                    "publication": Publication.DRAFT,
                    "description": proposal.sentence,
                },
                countries=[(c.iso2, DEFAULT_COUNTRY_ROLE) for c in proposal.countries.all()],
                companies=[(c.slug, DEFAULT_COMPANY_ROLE) for c in proposal.companies.all()],
            ),
        )
        citation_upsert(
            project=project,
            document=proposal.document,
            claim=ClaimKind.GENERAL,
            quote=_quote(proposal),
            location=_location(proposal),
        )
        _decide(proposal, ProposalStatus.ACCEPTED, user, project=project)
        return project


@transaction.atomic
def proposal_attach(*, proposal: Proposal, project: Project, user) -> Project:
    """Cite the proposal's document on an existing project and add the countries and
    organisations it names that the project lacks (roles as by default; editors refine)."""
    with _context(proposal, user, "attach"):
        proposal = _undecided(proposal)
        have = set(
            ProjectCountry.objects.filter(project=project).values_list("country_id", flat=True)
        )
        ProjectCountry.objects.bulk_create(
            ProjectCountry(project=project, country=country, role=DEFAULT_COUNTRY_ROLE)
            for country in proposal.countries.exclude(pk__in=have)
        )
        have = set(
            ProjectCompany.objects.filter(project=project).values_list("company_id", flat=True)
        )
        ProjectCompany.objects.bulk_create(
            ProjectCompany(project=project, company=company, role=DEFAULT_COMPANY_ROLE)
            for company in proposal.companies.exclude(pk__in=have)
        )
        existing = project.citations.filter(document=proposal.document, claim=ClaimKind.GENERAL)
        quote = _quote(proposal)
        citation = existing.first()
        if citation is not None and quote not in citation.quote:
            quote = f"{citation.quote}\n\n{quote}" if citation.quote else quote
        elif citation is not None:
            quote = citation.quote
        citation_upsert(
            project=project,
            document=proposal.document,
            claim=ClaimKind.GENERAL,
            quote=quote,
            location=citation.location if citation is not None else _location(proposal),
        )
        project.save(update_fields=["updated"])
        _decide(proposal, ProposalStatus.ATTACHED, user, project=project)
        return project


@transaction.atomic
def proposal_reject(*, proposal: Proposal, user, reason: str) -> None:
    """Set the proposal aside, saying why; it is not proposed again when its document is
    processed again."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why the proposal is rejected."})
    with _context(proposal, user, "reject"):
        proposal = _undecided(proposal)
        _decide(proposal, ProposalStatus.REJECTED, user, reason=reason.strip())
