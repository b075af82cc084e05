from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from projects.services.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo projects with their sources and citations (idempotent)."

    def handle(self, *args, **options):
        try:
            outcomes = demo_load()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        for name, counts in outcomes.items():
            summary = ", ".join(
                f"{k} {counts.get(k, 0)}" for k in ("created", "updated", "unchanged")
            )
            self.stdout.write(f"{name}: {summary}")
