"""What every editor-facing admin shares: who created and last changed an entry, a history
page with readable diffs and a revert button, and forms for actions that need an answer
(which survivor to keep, why a proposal is rejected)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from projects.services import history


class EditorAdmin(admin.ModelAdmin):
    """Read-only bookkeeping (created, updated, by whom) and a history page that lists every
    recorded change with its author and diff, where an editor can revert to a version."""

    metadata_fields = ["created", "updated", "changed_by"]
    # An address typed without a scheme is taken as https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + [f for f in self.metadata_fields if f not in fields]

    @admin.display(description="Created and last changed by")
    def changed_by(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        created, changed = history.changed_by(obj)
        return format_html(
            "created {} by {}; last changed {} by {}",
            created["when"].strftime("%Y-%m-%d %H:%M") if created["when"] else "?",
            created["user"] or "a script or import",
            changed["when"].strftime("%Y-%m-%d %H:%M") if changed["when"] else "?",
            changed["user"] or "a script or import",
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/<int:event_id>/revert/",
                self.admin_site.admin_view(self.revert_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_revert",
            ),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "crumb": "History",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "changes": history.history(obj),
            "can_revert": self.has_change_permission(request, obj),
            "revert_url_name": f"admin:{self.opts.app_label}_{self.opts.model_name}_revert",
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/projects/history.html", context)

    def revert_view(self, request, object_id, event_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        try:
            history.version_revert(obj=obj, event_id=event_id, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"“{obj}” is back to the version of event {event_id}.")
        return redirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_history", args=[obj.pk])
        )


def action_form(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    form_class: type[forms.Form],
    title: str,
    action: str,
    intro: str,
    form_kwargs: dict | None = None,
):
    """Run an admin action that needs an answer: the first call shows `form_class` for the
    selected rows; the submitted form comes back to the same action, valid, and is returned.
    Returns (form, None) when valid, or (None, response) to show."""
    form_kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            return form, None
    else:
        form = form_class(**form_kwargs)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": modeladmin.opts,
        "form": form,
        "media": modeladmin.media + form.media,
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return None, TemplateResponse(request, "admin/projects/action_form.html", context)


class MergeForm(forms.Form):
    """Which of the selected entries survives the merge."""

    survivor = forms.ModelChoiceField(
        queryset=None,
        widget=forms.RadioSelect,
        empty_label=None,
        help_text="The others are merged into it and deleted; their relations, citations, "
        "names and external ids move to it.",
    )

    def __init__(self, *args, queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = queryset


def merge_action(modeladmin, request, queryset, *, merge, noun: str):
    """The admin action behind "Merge selected …": pick the survivor, then merge."""
    if queryset.count() < 2:
        modeladmin.message_user(
            request, f"Select at least two {noun} to merge.", level=messages.WARNING
        )
        return None
    form, response = action_form(
        modeladmin,
        request,
        queryset,
        form_class=MergeForm,
        title=f"Merge {queryset.count()} {noun}",
        action="merge",
        intro=f"Choose the {noun[:-1] if noun.endswith('s') else noun} to keep. Everything "
        "that points at the others is moved to it, their names become its aliases, and the "
        "history records the merge.",
        form_kwargs={"queryset": queryset},
    )
    if form is None:
        return response
    survivor = form.cleaned_data["survivor"]
    duplicates = [obj for obj in queryset if obj.pk != survivor.pk]
    try:
        report = merge(survivor=survivor, duplicates=duplicates, user=request.user)
    except ValidationError as error:
        modeladmin.message_user(request, " ".join(error.messages), level=messages.ERROR)
        return None
    modeladmin.message_user(request, report.message(), level=messages.SUCCESS)
    return None
