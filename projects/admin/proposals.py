"""The proposals queue: what imports suggest, for editors to accept, attach or reject."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html

from projects.models import Company, Country, Project, ProjectType, Proposal, ProposalStatus
from projects.services.proposals import proposal_accept, proposal_attach, proposal_reject

from .base import EditorAdmin, action_form


class ConfidenceFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"
    BANDS = {"high": (0.8, 1.01), "medium": (0.5, 0.8), "low": (0.0, 0.5)}

    def lookups(self, request, model_admin):
        return [("high", "High (0.8 and up)"), ("medium", "Medium (0.5 to 0.8)"), ("low", "Low")]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value())
        if band is None:
            return queryset
        return queryset.filter(confidence__gte=band[0], confidence__lt=band[1])


class AttachForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=Project.objects.all(),
        help_text="The existing project the selected proposals describe.",
    )

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = Proposal._meta.get_field("project")
        widget = AutocompleteSelect(field, admin_site)
        # A widget set after the field is built lacks the field's choices, which it renders.
        widget.choices = self.fields["project"].choices
        self.fields["project"].widget = widget


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: not a project, already known, wrong country… It stays with the proposal.",
    )


@admin.register(Proposal)
class ProposalAdmin(EditorAdmin):
    list_display = [
        "sentence_excerpt",
        "suggests",
        "confidence",
        "document_link",
        "status",
        "project_link",
    ]
    list_filter = [
        "status",
        ConfidenceFilter,
        ("document", admin.RelatedOnlyFieldListFilter),
        ("companies", admin.RelatedOnlyFieldListFilter),
        ("countries", admin.RelatedOnlyFieldListFilter),
        ("project_types", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["sentence", "document__title"]
    list_select_related = ["document", "project"]
    actions = ["accept", "attach", "reject"]
    readonly_fields = [
        "document",
        "sentences_text",
        "companies",
        "project_types",
        "countries",
        "confidence",
        "page",
        "status",
        "project",
        "decided_by",
        "decided_at",
        "rejection_reason",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("companies", queryset=Company.objects.only("name")),
                Prefetch("project_types", queryset=ProjectType.objects.only("name")),
                Prefetch("countries", queryset=Country.objects.only("name")),
            )
        )

    def has_add_permission(self, request):
        return False  # proposals come from imports

    @admin.display(description="Sentence")
    def sentence_excerpt(self, proposal):
        return proposal.sentence[:160] + ("…" if len(proposal.sentence) > 160 else "")

    @admin.display(description="Suggests")
    def suggests(self, proposal):
        parts = [
            ", ".join(c.name for c in proposal.companies.all()),
            ", ".join(t.name for t in proposal.project_types.all()),
            "in " + ", ".join(c.name for c in proposal.countries.all()),
        ]
        return " · ".join(part for part in parts if part)

    @admin.display(description="Supporting sentences")
    def sentences_text(self, proposal):
        return "\n\n".join(proposal.sentences)

    @admin.display(description="Document", ordering="document__title")
    def document_link(self, proposal):
        url = reverse("admin:projects_sourcedocument_change", args=[proposal.document_id])
        return format_html('<a href="{}">{}</a>', url, proposal.document)

    @admin.display(description="Project")
    def project_link(self, proposal):
        if proposal.project_id is None:
            return "—"
        url = reverse("admin:projects_project_change", args=[proposal.project_id])
        prefix = "matches " if proposal.status == ProposalStatus.PENDING else ""
        return format_html('{}<a href="{}">{}</a>', prefix, url, proposal.project)

    def _decide(self, request, queryset, decide, verb: str) -> None:
        done, refused = 0, []
        for proposal in queryset:
            try:
                decide(proposal)
                done += 1
            except ValidationError as error:
                refused.append(f"“{proposal}”: {' '.join(error.messages)}")
        if done:
            self.message_user(request, f"{done} proposal(s) {verb}.", messages.SUCCESS)
        for reason in refused[:10]:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Accept: create a draft project from each", permissions=["accept"])
    def accept(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda proposal: proposal_accept(proposal=proposal, user=request.user),
            "accepted as new draft projects",
        )

    @admin.action(description="Attach to an existing project…", permissions=["attach"])
    def attach(self, request, queryset):
        matched = {p.project_id for p in queryset if p.project_id}
        initial = {"project": matched.pop()} if len(matched) == 1 else {}
        form, response = action_form(
            self,
            request,
            queryset,
            form_class=AttachForm,
            title=f"Attach {queryset.count()} proposal(s) to a project",
            action="attach",
            intro="The document is cited on the project with the proposals' sentences, and "
            "the countries and organisations it lacks are added.",
            form_kwargs={"admin_site": self.admin_site, "initial": initial},
        )
        if form is None:
            return response
        project = form.cleaned_data["project"]
        self._decide(
            request,
            queryset,
            lambda proposal: proposal_attach(proposal=proposal, project=project, user=request.user),
            f"attached to “{project}”",
        )
        return None

    @admin.action(description="Reject with a reason…", permissions=["change"])
    def reject(self, request, queryset):
        form, response = action_form(
            self,
            request,
            queryset,
            form_class=RejectForm,
            title=f"Reject {queryset.count()} proposal(s)",
            action="reject",
            intro="Rejected proposals are kept with the reason and not proposed again when "
            "their document is processed again.",
        )
        if form is None:
            return response
        reason = form.cleaned_data["reason"]
        self._decide(
            request,
            queryset,
            lambda proposal: proposal_reject(proposal=proposal, user=request.user, reason=reason),
            "rejected",
        )
        return None

    def has_accept_permission(self, request):
        """Accepting writes a project and its citation."""
        return self.has_change_permission(request) and request.user.has_perms(
            ["projects.add_project", "projects.add_citation"]
        )

    def has_attach_permission(self, request):
        """Attaching writes to the project (countries, organisations) and cites on it."""
        return self.has_change_permission(request) and request.user.has_perms(
            ["projects.change_project", "projects.add_citation", "projects.change_citation"]
        )
