"""The admin site of the knowledge base: Django's, with sign-in refused for a while after too
many failures (dsr_kb/security.py) — said in the form and with HTTP 429 and Retry-After."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from dsr_kb.security import seconds_locked


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-ins for this account or from this address. "
            "Try again in %(minutes)s minute(s)."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if seconds := seconds_locked(self.request, username):
            self.request.login_retry_after = seconds
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": -(-seconds // 60)},
            )
        return super().clean()


class KnowledgeBaseAdminSite(admin.AdminSite):
    login_form = ThrottledAdminAuthenticationForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        if retry_after := getattr(request, "login_retry_after", None):
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response
