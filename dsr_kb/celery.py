import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsr_kb.settings.base")

app = Celery("dsr_kb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
