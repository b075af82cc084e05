from django.core.management.base import BaseCommand

from projects.services.reference import reference_data_load


class Command(BaseCommand):
    help = (
        "Load countries, project types, initiatives and organisations (idempotent). Existing "
        "rows are kept as editors left them; --update brings them back to the shipped values."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="Overwrite existing rows with the shipped reference values.",
        )

    def handle(self, *args, **options):
        for name, report in reference_data_load(update=options["update"]).items():
            counts = ", ".join(f"{k} {v}" for k, v in report.as_dict().items())
            self.stdout.write(f"{name}: {counts}")
