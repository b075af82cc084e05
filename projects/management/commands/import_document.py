import json
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from projects.models import ProcessingStatus, SourceDocument
from projects.services import imports

FINISHED = {ProcessingStatus.DONE, ProcessingStatus.FAILED}


class Command(BaseCommand):
    help = (
        "Import documents (files or http(s) URLs): store them, find the countries, "
        "organisations and kinds of project they name, and propose projects. Without --sync "
        "the work is queued for a Celery worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="A file or an http(s) URL.")
        parser.add_argument(
            "--sync", action="store_true", help="Process here and now, without a worker."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object per document; without --sync, wait for the worker.",
        )
        parser.add_argument(
            "--reprocess",
            action="store_true",
            help="Process documents again even when the same bytes were imported before.",
        )
        parser.add_argument(
            "--wait",
            type=int,
            default=900,
            metavar="SECONDS",
            help="With --json and no --sync: how long to wait for the worker (default 900).",
        )
        for name, help_text in [
            ("title", "Title (otherwise taken from the document)."),
            ("authors", "Authors, separated by ';'."),
            ("publisher", "Publisher."),
            ("date", "Publication date: YYYY, YYYY-MM or YYYY-MM-DD."),
            ("language", "ISO 639-1 code (otherwise detected)."),
            ("kind", "news, report, press_release, academic, government, dataset or other."),
            ("url", "Where the document was published (for files)."),
        ]:
            parser.add_argument(f"--{name}", default=None, help=help_text)

    def handle(self, *paths, **options):
        metadata = {
            name: options[name]
            for name in imports.METADATA_FIELDS
            if options.get(name) not in (None, "")
        }
        results = []
        for path in options["paths"]:
            results.append(self._import(path, metadata, options))
        if options["json"] and not options["sync"]:
            self._wait(results, options["wait"])
        # Success is every document done (or already known); when only queueing for a
        # worker, queued is the expected state.
        expected = {ProcessingStatus.DONE}
        if not options["sync"] and not options["json"]:
            expected.add(ProcessingStatus.QUEUED)
        failed = False
        for source, result, refusal in results:
            if result is None:
                line = self._refused(source, refusal)
            else:
                result.document.refresh_from_db()
                line = imports.document_summary(result.document)
                line["source"] = source
                line["known"] = not result.created
            known = result is not None and not result.created and not options["reprocess"]
            if line["status"] not in expected and not known:
                failed = True
            self._print(line, options["json"])
        if failed:
            sys.exit(1)

    def _import(self, path: str, metadata: dict, options):
        sync = options["sync"]
        try:
            if path.startswith(("http://", "https://")):
                result = imports.document_import_url(
                    url=path, metadata=metadata, reprocess=options["reprocess"], enqueue=not sync
                )
            else:
                file = Path(path)
                if not file.is_file():
                    raise ValidationError({"file": f"No such file: {path}"})
                result = imports.document_import(
                    data=file.read_bytes(),
                    filename=file.name,
                    metadata=metadata,
                    reprocess=options["reprocess"],
                    enqueue=not sync,
                )
        except ValidationError as error:
            return path, None, error
        except OSError as error:
            return path, None, ValidationError({"file": f"Cannot read {path}: {error}"})
        if sync and (result.created or options["reprocess"]):
            try:
                imports.document_process(result.document.pk)
            except imports.TransientImportError as error:
                imports.document_fail(result.document.pk, str(error))
        return path, result, None

    def _wait(self, results, seconds: int) -> None:
        ids = [result.document.pk for _, result, _ in results if result is not None]
        deadline = time.monotonic() + seconds
        while ids and time.monotonic() < deadline:
            waiting = SourceDocument.objects.filter(pk__in=ids).exclude(status__in=FINISHED)
            if not waiting.exists():
                return
            time.sleep(0.5)
        unfinished = SourceDocument.objects.filter(pk__in=ids).exclude(status__in=FINISHED)
        for pk in unfinished.values_list("pk", flat=True):
            self.stderr.write(f"Document {pk} was still being processed after {seconds} s.")

    @staticmethod
    def _refused(source: str, error: ValidationError) -> dict:
        messages = (
            [f"{field}: {m}" for field, ms in error.message_dict.items() for m in ms]
            if hasattr(error, "error_dict")
            else error.messages
        )
        return {
            "id": None,
            "sha256": None,
            "status": ProcessingStatus.FAILED,
            "title": Path(source).name,
            "language": "",
            "pages": None,
            "error": " ".join(messages),
            "mentions": {"countries": [], "companies": [], "project_types": []},
            "proposals": [],
            "source": source,
            "known": False,
        }

    def _print(self, line: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            return
        if line["id"] is None:
            self.stderr.write(f"{line['source']}: refused: {line['error']}")
            return
        mentions = line["mentions"]
        summary = (
            f"{line['source']}: document {line['id']} {line['status']}"
            + (" (already imported)" if line["known"] else "")
            + (f": {line['error']}" if line["error"] else "")
        )
        if line["status"] == ProcessingStatus.DONE:
            summary += (
                f" — {len(mentions['countries'])} countries, {len(mentions['companies'])} "
                f"organisations, {len(mentions['project_types'])} kinds of project, "
                f"{len(line['proposals'])} proposals"
            )
        self.stdout.write(summary)
