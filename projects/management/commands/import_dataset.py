import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.importing.datasets import DatasetError
from projects.models import DatasetFormat
from projects.services.datasets import TRUSTED, dataset_import, dataset_read


class Command(BaseCommand):
    help = (
        "Import a structured dataset of projects: the API's CSV, JSON or GeoJSON export "
        "schema, or TeleGeography's submarine-cable JSON (a folder of per-cable files, a zip "
        "of it, or one file). Projects are matched by external id, then slug: importing the "
        "same file again changes nothing. Exit status 1 when rows were rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="The file (or TeleGeography folder).")
        parser.add_argument(
            "--format", required=True, choices=DatasetFormat.values, help="The dataset's format."
        )
        parser.add_argument(
            "--entity",
            choices=["projects", "organisations"],
            default="projects",
            help="What the file lists: projects (default), or organisations (the export of "
            "companies/, CSV or JSON) — import those first when a projects CSV names "
            "organisations this knowledge base lacks.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )
        parser.add_argument(
            "--atomic", action="store_true", help="Write nothing when any row is rejected."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, path, **options):
        try:
            rows = dataset_read(path=Path(path), format=options["format"], entity=options["entity"])
        except DatasetError as error:
            raise CommandError(str(error), returncode=2) from None
        report = dataset_import(
            rows=rows,
            format=options["format"],
            entity=options["entity"],
            dry_run=options["dry_run"],
            atomic=options["atomic"],
            user=TRUSTED,
            context={"command": "import_dataset", "path": str(path)},
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._describe(report)
        if report.rejected:
            raise SystemExit(1)

    def _describe(self, report) -> None:
        self.stdout.write(report.summary())
        for rejected in report.rejected:
            self.stdout.write(f"  row {rejected['row']}: {rejected['reason']}")
        unresolved = report.as_dict()["unresolved"]
        if unresolved["countries"]:
            self.stdout.write(
                "Countries not recognised (left out; add them as aliases and import again): "
                + "; ".join(unresolved["countries"])
            )
        if unresolved["companies"]:
            self.stdout.write(
                "Organisations not found, created as new (check them for duplicates): "
                + "; ".join(unresolved["companies"])
            )
