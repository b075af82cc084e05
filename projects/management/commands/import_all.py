import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.services.archive import ArchiveError, archive_import


class Command(BaseCommand):
    help = (
        "Restore an archive written by export_all into an empty, migrated database (the "
        "Editor and Reviewer groups the migrations create are replaced by the archive's). "
        "The archive is checked whole first; the rows go in in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="The archive (.tar.gz).")
        parser.add_argument(
            "--flush",
            action="store_true",
            help="DESTRUCTIVE: first delete every row of the archived tables — and of the "
            "tables pointing at them, such as API tokens and the admin log — and replace "
            "stored files of the same names.",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, path, **options):
        started = time.monotonic()
        try:
            summary = archive_import(path=Path(path), flush=options["flush"])
        except ArchiveError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
            return
        for table, count in summary.flushed.items():
            self.stdout.write(f"flushed {table}: {count} rows")
        for label, count in summary.models.items():
            self.stdout.write(f"{label}: {count} rows")
        self.stdout.write(f"files: {summary.files} written, {summary.files_unchanged} unchanged")
        self.stdout.write(
            f"Restored {path} (made {summary.archive['created']}) in "
            f"{time.monotonic() - started:.1f} s."
        )
