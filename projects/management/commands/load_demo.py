from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from projects.services.demo import demo_load


class Command(BaseCommand):
    help = (
        "Load the demo projects with their sources and citations (idempotent). Demo projects "
        "that exist are kept as editors left them; --update resets them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update", action="store_true", help="Reset existing demo projects to the demo data."
        )

    def handle(self, *args, **options):
        try:
            outcomes = demo_load(update=options["update"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        for name, counts in outcomes.items():
            summary = ", ".join(
                f"{k} {counts.get(k, 0)}" for k in ("created", "updated", "unchanged", "kept")
            )
            self.stdout.write(f"{name}: {summary}")
