from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from projects.models import Proposal, SourceDocument
from projects.models.source import DocumentKind
from projects.services import imports

from .base import EditorAdmin


class DocumentImportForm(forms.Form):
    """Upload a file or give a public address; the rest is optional and read from the
    document when left empty."""

    file = forms.FileField(required=False, help_text="PDF, HTML, DOCX, plain text or Markdown.")
    url = forms.URLField(
        assume_scheme="https",
        label="or download from",
        required=False,
        help_text="A public http(s) address.",
    )
    title = forms.CharField(required=False, max_length=500)
    authors = forms.CharField(required=False, help_text="Names separated by ';'.")
    publisher = forms.CharField(required=False, max_length=300)
    date = forms.CharField(required=False, help_text="YYYY, YYYY-MM or YYYY-MM-DD.")
    source_url = forms.URLField(
        assume_scheme="https",
        label="Published at",
        required=False,
        help_text="For an uploaded file: its address.",
    )
    language = forms.CharField(required=False, max_length=8, help_text="Detected if empty.")
    kind = forms.ChoiceField(choices=[("", "—"), *DocumentKind.choices], required=False)
    reprocess = forms.BooleanField(
        required=False, help_text="Process again if these bytes were imported before."
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("file")) == bool(data.get("url")):
            raise ValidationError("Upload a file or give an address to download, not both.")
        return data

    def metadata(self) -> dict:
        names = ["title", "authors", "publisher", "date", "language", "kind"]
        metadata = {name: self.cleaned_data[name] for name in names if self.cleaned_data[name]}
        if self.cleaned_data["source_url"]:
            metadata["url"] = self.cleaned_data["source_url"]
        return metadata


class ProposalInline(admin.TabularInline):
    model = Proposal
    fields = ["sentence", "confidence", "status", "project"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SourceDocument)
class SourceDocumentAdmin(EditorAdmin):
    list_display = ["title", "kind", "status", "progress", "page_count", "error_excerpt", "created"]
    list_filter = ["status", "kind", "language", "media_type"]
    search_fields = ["title", "publisher", "url", "original_filename", "sha256"]
    exclude = ["text"]
    readonly_fields = [
        "file",
        "original_filename",
        "sha256",
        "size",
        "media_type",
        "page_count",
        "status",
        "progress",
        "error",
        "mentions_found",
        "uploaded_by",
    ]
    inlines = [ProposalInline]
    actions = ["reprocess"]

    @admin.display(description="Error")
    def error_excerpt(self, document):
        return document.error[:80] + ("…" if len(document.error) > 80 else "")

    @admin.display(description="Mentions")
    def mentions_found(self, document):
        if document.pk is None:
            return "—"
        counts = {
            label: document.mentions.filter(**{f"{field}__isnull": False}).count()
            for label, field in [
                ("countries", "country"),
                ("organisations", "company"),
                ("kinds of project", "project_type"),
            ]
        }
        return ", ".join(f"{count} {label}" for label, count in counts.items())

    @admin.action(description="Process the selected documents again", permissions=["change"])
    def reprocess(self, request, queryset):
        done = 0
        for document in queryset.exclude(file=""):
            imports.document_reprocess(document)
            done += 1
        self.message_user(request, f"{done} document(s) queued for processing.")

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=name),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        # A document with a file comes in through the import; "add" records one without.
        if request.GET.get("metadata_only"):
            return super().add_view(request, form_url, extra_context)
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DocumentImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            result = self._import(request, form)
            if result is not None:
                document = result.document
                if result.created:
                    messages.success(request, f"“{document}” is stored; processing is queued.")
                else:
                    messages.info(
                        request,
                        f"These bytes were imported before, as “{document}”"
                        + ("; processing again." if form.cleaned_data["reprocess"] else "."),
                    )
                return redirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                        args=[document.pk],
                    )
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a document",
            "form": form,
            "opts": self.opts,
            "metadata_only_url": "?metadata_only=1",
        }
        return TemplateResponse(request, "admin/projects/sourcedocument/import.html", context)

    @staticmethod
    def _import(request, form):
        upload = form.cleaned_data.get("file")
        try:
            if upload:
                imports.check_size(upload.size)
                return imports.document_import(
                    data=upload.read(),
                    filename=upload.name,
                    metadata=form.metadata(),
                    user=request.user,
                    reprocess=form.cleaned_data["reprocess"],
                )
            return imports.document_import_url(
                url=form.cleaned_data["url"],
                metadata=form.metadata(),
                user=request.user,
                reprocess=form.cleaned_data["reprocess"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                target = {"url": "source_url" if upload else "url"}.get(field, field)
                form.add_error(target if target in form.fields else None, errors)
            return None
