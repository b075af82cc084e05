from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from projects.models import DatasetEntity, DatasetFormat, DatasetImport, ImportState
from projects.services import datasets


class DatasetImportForm(forms.ModelForm):
    """The upload: a file, its format and how to import it."""

    file = forms.FileField(
        help_text="CSV, JSON or GeoJSON in the schema of the API's exports, or TeleGeography "
        "cables: a zip of the folder of per-cable JSON files, or one cable file."
    )
    format = forms.ChoiceField(choices=DatasetFormat.choices)

    class Meta:
        model = DatasetImport
        fields = ["file", "format", "entity", "dry_run", "atomic"]

    user = None  # set by DatasetImportAdmin.get_form

    def clean(self):
        data = super().clean()
        if refusal := datasets.dataset_import_refusal(self.user, data.get("entity")):
            self.add_error("entity", refusal)
        organisations = data.get("entity") == DatasetEntity.ORGANISATIONS
        if organisations and data.get("format") not in (DatasetFormat.CSV, DatasetFormat.JSON):
            self.add_error("format", "Organisations are imported from CSV or JSON.")
        return data

    def clean_file(self):
        file = self.cleaned_data["file"]
        try:
            datasets.dataset_upload_check(file=file)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["file"]) from error
        return file


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    """Upload a dataset; small files are imported at once, larger ones by a worker. A job is
    a record of what happened: it is read, never edited."""

    form = DatasetImportForm
    list_display = [
        "__str__",
        "state",
        "progress",
        "dry_run",
        "counts",
        "created_by",
        "created",
    ]
    list_filter = ["state", "format", "entity", "dry_run"]
    search_fields = ["original_filename"]
    readonly_fields = [
        "format",
        "entity",
        "original_filename",
        "size",
        "dry_run",
        "atomic",
        "state",
        "progress",
        "error",
        "outcome",
        "rejected_rows",
        "unresolved_names",
        "created_by",
        "created",
        "started",
        "finished",
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "format", "entity", "dry_run", "atomic"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        """As the API: importing writes projects (organisations, if asked for: see the form)."""
        writes = datasets.IMPORT_WRITES[DatasetEntity.PROJECTS]
        return super().has_add_permission(request) and request.user.has_perms(writes)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        job = datasets.dataset_import_create(
            file=data["file"],
            format=data["format"],
            entity=data["entity"],
            dry_run=data["dry_run"],
            atomic=data["atomic"],
            user=request.user,
        )
        job = datasets.dataset_import_start(job=job)
        obj.pk = job.pk
        self._announce(request, job)

    def _announce(self, request, job: DatasetImport) -> None:
        if job.state == ImportState.DONE:
            messages.success(request, f"{job}: {self.outcome(job)}.")
        elif job.state == ImportState.FAILED:
            messages.error(request, f"{job} failed: {job.error}")
        else:
            messages.info(request, f"{job} is queued for a worker; this page shows its progress.")

    def response_add(self, request, obj, post_url_continue=None):
        # To the job's own page: its report, or its progress while a worker imports it.
        return redirect(reverse("admin:projects_datasetimport_change", args=[obj.pk]))

    def log_addition(self, request, obj, message):
        # The job row is the record of the upload.
        return None

    @admin.display(description="created / updated / unchanged / rejected")
    def counts(self, job: DatasetImport) -> str:
        report = job.report or {}
        if not report:
            return "—"
        return (
            f"{report.get('created', 0)} / {report.get('updated', 0)} / "
            f"{report.get('unchanged', 0)} / {len(report.get('rejected', []))}"
        )

    @admin.display(description="outcome")
    def outcome(self, job: DatasetImport) -> str:
        report = job.report or {}
        if not report:
            return "—"
        text = (
            f"{report.get('created', 0)} created, {report.get('updated', 0)} updated, "
            f"{report.get('unchanged', 0)} unchanged, {len(report.get('rejected', []))} rejected"
        )
        if report.get("dry_run"):
            return f"{text} — a dry run: nothing was written"
        if report.get("atomic") and report.get("rejected"):
            return f"{text} — atomic: nothing was written"
        return text

    @admin.display(description="rejected rows")
    def rejected_rows(self, job: DatasetImport):
        rejected = (job.report or {}).get("rejected") or []
        if not rejected:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((r["row"], r["reason"]) for r in rejected)
        )
        return format_html("<table><tr><th>Row</th><th>Reason</th></tr>{}</table>", rows)

    @admin.display(description="names not recognised")
    def unresolved_names(self, job: DatasetImport):
        unresolved = (job.report or {}).get("unresolved") or {}
        countries = "; ".join(unresolved.get("countries") or []) or "—"
        companies = "; ".join(unresolved.get("companies") or []) or "—"
        return format_html(
            "Countries (left out): {}<br>Organisations (created as new): {}",
            countries,
            companies,
        )
