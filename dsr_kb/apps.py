from django.contrib.admin.apps import AdminConfig


class KnowledgeBaseAdminConfig(AdminConfig):
    """Django's admin app with our site class (sign-in throttled): dsr_kb/admin_site.py."""

    default_site = "dsr_kb.admin_site.KnowledgeBaseAdminSite"
