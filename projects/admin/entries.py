"""Countries, organisations, kinds of project, initiatives, projects, citations, mentions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse

from projects.models import (
    Citation,
    Company,
    Country,
    Initiative,
    Mention,
    Project,
    ProjectCompany,
    ProjectCountry,
    ProjectInitiative,
    ProjectType,
    Publication,
)
from projects.services.merge import companies_merge, projects_merge
from projects.services.projects import (
    PUBLISH_PERMISSION,
    may_change_publication,
    projects_set_publication,
)

from .base import EditorAdmin, merge_action


@admin.register(Country)
class CountryAdmin(EditorAdmin):
    list_display = ["name", "iso2", "iso3", "region", "subregion", "bri_joined_on"]
    list_filter = ["region", "subregion"]
    search_fields = ["name", "official_name", "iso2", "iso3", "aliases"]
    readonly_fields = ["iso2", "iso3", "numeric"]

    def get_readonly_fields(self, request, obj=None):
        # ISO codes identify a country everywhere (URLs, imports): set once, at creation.
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f not in self.readonly_fields]


@admin.register(Company)
class CompanyAdmin(EditorAdmin):
    list_display = ["name", "chinese_name", "kind", "ownership", "headquarters", "project_count"]
    list_filter = ["kind", "ownership", ("headquarters", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "chinese_name", "aliases", "slug"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["headquarters", "parent"]
    actions = ["merge"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("headquarters")
            .annotate(projects_count=Count("project_roles__project", distinct=True))
        )

    @admin.display(description="Projects", ordering="projects_count")
    def project_count(self, company):
        return company.projects_count

    @admin.action(description="Merge the selected organisations into one", permissions=["merge"])
    def merge(self, request, queryset):
        return merge_action(self, request, queryset, merge=companies_merge, noun="organisations")

    def has_merge_permission(self, request):
        return self.has_change_permission(request) and self.has_delete_permission(request)


@admin.register(ProjectType)
class ProjectTypeAdmin(EditorAdmin):
    list_display = ["name", "slug", "position", "keyword_count"]
    list_editable = ["position"]
    search_fields = ["name", "keywords"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "keywords", "position"]

    @admin.display(description="Detection keywords")
    def keyword_count(self, project_type):
        return len(project_type.keywords)


@admin.register(Initiative)
class InitiativeAdmin(EditorAdmin):
    list_display = ["name", "short_name", "launched_year", "parent"]
    search_fields = ["name", "short_name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ProjectCountryInline(admin.TabularInline):
    model = ProjectCountry
    autocomplete_fields = ["country"]
    extra = 1
    verbose_name = "country"
    verbose_name_plural = "Countries and their roles"


class ProjectCompanyInline(admin.TabularInline):
    model = ProjectCompany
    autocomplete_fields = ["company"]
    extra = 1
    verbose_name = "organisation"
    verbose_name_plural = "Organisations and their roles"


class ProjectInitiativeInline(admin.TabularInline):
    model = ProjectInitiative
    autocomplete_fields = ["initiative"]
    extra = 0
    verbose_name_plural = "Initiatives"


class CitationInline(admin.StackedInline):
    model = Citation
    autocomplete_fields = ["document"]
    fields = ["document", "claim", "quote", "location"]
    extra = 0
    verbose_name_plural = "Citations (sources with their quotes)"


class ProjectForm(forms.ModelForm):
    """Editors move a project between draft and review; only reviewers publish it, and only
    they take a published project back."""

    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 — the admin's fieldsets choose what is shown

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields.get("publication")
        if field is not None and user is not None and not user.has_perm(PUBLISH_PERMISSION):
            # Not offered; a forged submission still meets clean_publication's message.
            field.widget.choices = [
                (value, label)
                for value, label in field.choices
                if value != Publication.PUBLISHED
                or (self.instance.pk and self.instance.publication == Publication.PUBLISHED)
            ]

    def clean_publication(self):
        publication = self.cleaned_data["publication"]
        before = self.instance.publication if self.instance.pk else Publication.DRAFT
        if not may_change_publication(self.user, before, publication):
            raise forms.ValidationError("Only reviewers publish a project or unpublish it.")
        return publication


@admin.register(Project)
class ProjectAdmin(EditorAdmin):
    form = ProjectForm
    # Said here, not only on the model: the counts annotated in get_queryset group rows,
    # which drops the model's default ordering (autocomplete then paged an unordered list).
    ordering = ["name", "pk"]
    list_display = [
        "name",
        "project_type",
        "status",
        "publication",
        "country_list",
        "citation_count",
        "updated",
    ]
    list_filter = [
        "publication",
        "status",
        "project_type",
        ("countries", admin.RelatedOnlyFieldListFilter),
        ("companies", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "slug", "aliases", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["project_type"]
    inlines = [ProjectCountryInline, ProjectCompanyInline, ProjectInitiativeInline, CitationInline]
    actions = ["submit_for_review", "publish", "return_to_draft", "merge"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "aliases", "project_type", "status", "publication"]}),
        ("Description", {"fields": ["description"]}),
        (
            "Dates",
            {
                "fields": [
                    ("announced_on", "announced_precision"),
                    ("started_on", "started_precision"),
                    ("completed_on", "completed_precision"),
                ]
            },
        ),
        (
            "Size and value",
            {"fields": [("value_amount", "value_currency", "value_usd"), "length_km", "capacity"]},
        ),
        (
            "Place",
            {
                "fields": [("latitude", "longitude"), "geometry", "landing_points"],
                "classes": ["collapse"],
            },
        ),
        ("Identifiers", {"fields": ["external_ids"], "classes": ["collapse"]}),
        ("Record", {"fields": ["created", "updated", "changed_by"]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return WithUser

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("project_type")
            .prefetch_related("countries")
            .annotate(citations_count=Count("citations", distinct=True))
        )

    @admin.display(description="Countries")
    def country_list(self, project):
        return ", ".join(sorted(country.name for country in project.countries.all()))

    @admin.display(description="Citations", ordering="citations_count")
    def citation_count(self, project):
        return project.citations_count

    def _move(self, request, queryset, publication: str, allowed_from: list[str], verb: str):
        selected = queryset.count()
        moving = queryset.filter(publication__in=allowed_from)
        count = projects_set_publication(projects=moving, publication=publication)
        skipped = selected - count
        message = f"{count} project(s) {verb}."
        if skipped:
            message += f" {skipped} left as they were (not in a state that allows it)."
        self.message_user(request, message, level=messages.SUCCESS if count else messages.WARNING)

    @admin.action(description="Submit the selected drafts for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        self._move(request, queryset, Publication.IN_REVIEW, [Publication.DRAFT], "submitted")

    @admin.action(description="Publish the selected projects", permissions=["publish"])
    def publish(self, request, queryset):
        self._move(
            request,
            queryset,
            Publication.PUBLISHED,
            [Publication.DRAFT, Publication.IN_REVIEW],
            "published",
        )

    @admin.action(description="Return the selected projects to draft", permissions=["change"])
    def return_to_draft(self, request, queryset):
        allowed = [Publication.IN_REVIEW]
        if request.user.has_perm(PUBLISH_PERMISSION):
            allowed.append(Publication.PUBLISHED)
        self._move(request, queryset, Publication.DRAFT, allowed, "returned to draft")

    @admin.action(description="Merge the selected projects into one", permissions=["merge"])
    def merge(self, request, queryset):
        return merge_action(self, request, queryset, merge=projects_merge, noun="projects")

    def has_publish_permission(self, request):
        return request.user.has_perm(PUBLISH_PERMISSION)

    def has_merge_permission(self, request):
        return self.has_change_permission(request) and self.has_delete_permission(request)

    def save_model(self, request, obj, form, change):
        # The form refuses it already; this guards any other path through the admin.
        before = form.initial.get("publication", Publication.DRAFT)
        if not may_change_publication(request.user, before, obj.publication):
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def revert_view(self, request, object_id, event_id):
        # A version brings its publication back too: reverting must not publish or unpublish
        # for an editor.
        project = self.get_object(request, object_id)
        if (
            request.method == "POST"
            and project is not None
            and self.has_change_permission(request, project)
        ):
            version = Project.pgh_event_model.objects.filter(
                pgh_obj_id=project.pk, pgh_id=event_id
            ).first()
            if version is not None and not may_change_publication(
                request.user, project.publication, version.publication
            ):
                self.message_user(
                    request,
                    f"That version is {version.get_publication_display().lower()} and this "
                    f"project is {project.get_publication_display().lower()}: only reviewers "
                    "publish a project or unpublish it.",
                    messages.ERROR,
                )
                return redirect(reverse("admin:projects_project_history", args=[project.pk]))
        return super().revert_view(request, object_id, event_id)


@admin.register(Citation)
class CitationAdmin(EditorAdmin):
    list_display = ["project", "document", "claim", "location"]
    list_filter = ["claim"]
    search_fields = ["project__name", "document__title", "quote"]
    autocomplete_fields = ["project", "document"]
    list_select_related = ["project", "document"]


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    """What imports found; read-only: reprocess the document to change it."""

    list_display = ["text", "entity", "document", "page", "sentence_excerpt"]
    list_filter = [
        ("country", admin.RelatedOnlyFieldListFilter),
        ("company", admin.RelatedOnlyFieldListFilter),
        ("project_type", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["text", "sentence", "document__title"]
    list_select_related = ["document", "country", "company", "project_type"]

    @admin.display(description="Names")
    def entity(self, mention):
        return mention.country or mention.company or mention.project_type

    @admin.display(description="Sentence")
    def sentence_excerpt(self, mention):
        return mention.sentence[:120] + ("…" if len(mention.sentence) > 120 else "")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
