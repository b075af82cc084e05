from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Digital Silk Road projects"
    default_auto_field = "django.db.models.BigAutoField"
