from django.core.management.base import BaseCommand

from projects.services.reference import reference_data_load


class Command(BaseCommand):
    help = "Load countries, project types, initiatives and organisations (idempotent)."

    def handle(self, *args, **options):
        for name, report in reference_data_load().items():
            counts = ", ".join(f"{k} {v}" for k, v in report.as_dict().items())
            self.stdout.write(f"{name}: {counts}")
