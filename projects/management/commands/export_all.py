import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.services.archive import ArchiveError, archive_export


class Command(BaseCommand):
    help = (
        "Back up the whole knowledge base to one .tar.gz archive: every row of the projects "
        "app (history included), pghistory contexts, users and groups, and the stored files. "
        "The archive holds password hashes: keep it private. Restore with import_all."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="The archive to write (.tar.gz).")
        parser.add_argument("--force", action="store_true", help="Overwrite an existing file.")
        parser.add_argument("--json", action="store_true", help="Print the manifest as JSON.")

    def handle(self, path, **options):
        started = time.monotonic()
        try:
            manifest = archive_export(path=Path(path), force=options["force"])
        except ArchiveError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(manifest, ensure_ascii=False, indent=2))
            return
        for label, count in manifest["models"].items():
            self.stdout.write(f"{label}: {count} rows")
        self.stdout.write(f"files: {manifest['files']}")
        for name in manifest["missing_files"]:
            self.stderr.write(f"Missing from the storage, not archived: {name}")
        size = Path(path).stat().st_size
        self.stdout.write(f"Wrote {path} ({size} bytes) in {time.monotonic() - started:.1f} s.")
