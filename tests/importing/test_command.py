"""`manage.py import_document PATH ... --sync --json`: one JSON object per line and document,
in the shape the issue fixes, and an exit status that says whether anything failed."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from fpdf import FPDF

from projects.models import ProcessingStatus, SourceDocument
from tests.support import child_environment, database_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."
TEXT = (
    f"{EXAMPLE} The plan was announced in Beijing by the Chinese government.\n\n"
    "Huawei signed a contract for a data centre in Kenya. Kenya and Nepal are far apart. "
    "China Mobile is also building fiber-optic links to Kyrgyzstan, Nepal and Myanmar."
)
CONTRACT = {
    "id",
    "sha256",
    "status",
    "title",
    "language",
    "pages",
    "error",
    "mentions",
    "proposals",
}
MENTION_KINDS = {"countries", "companies", "project_types"}
PROPOSAL_KEYS = {"companies", "project_types", "countries", "sentence", "confidence"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "asia-links.txt"
    path.write_text(TEXT)
    return path


def truncated_pdf(tmp_path) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for _ in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 8, "Huawei built a data centre in Kenya.")
    data = bytes(pdf.output())
    path = tmp_path / "broken.pdf"
    path.write_bytes(data[: len(data) // 2])
    return path


def run(*arguments) -> tuple[int, list[dict]]:
    """The exit status and the parsed output lines of the command."""
    out = io.StringIO()
    try:
        call_command("import_document", *map(str, arguments), stdout=out, stderr=io.StringIO())
        status = 0
    except SystemExit as exit:
        status = exit.code
    return status, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def check_contract(line: dict) -> None:
    assert set(line) >= CONTRACT, set(line)
    assert set(line["mentions"]) == MENTION_KINDS
    for values in line["mentions"].values():
        assert isinstance(values, list) and len(set(values)) == len(values)
    for proposal in line["proposals"]:
        assert set(proposal) >= PROPOSAL_KEYS
        for kind in ("companies", "project_types", "countries"):
            assert len(set(proposal[kind])) == len(proposal[kind])
        assert isinstance(proposal["sentence"], str) and proposal["sentence"]
        assert 0 <= proposal["confidence"] <= 1


@pytest.mark.django_db
def test_a_file_gives_one_line_in_the_contract_shape(text_file):
    status, lines = run(text_file, "--sync", "--json")
    assert status == 0
    [line] = lines
    check_contract(line)
    document = SourceDocument.objects.get(pk=line["id"])
    assert line["sha256"] == document.sha256
    assert (line["status"], line["error"], line["pages"]) == ("done", "", None)
    assert (line["title"], line["language"]) == ("asia-links", "en")
    assert line["mentions"] == {
        "countries": ["CN", "KE", "KG", "MM", "NP"],
        "companies": ["china-mobile", "huawei"],
        "project_types": ["data-center", "fiber-link"],
    }
    links = next(p for p in line["proposals"] if "MM" in p["countries"])
    assert links["companies"] == ["china-mobile"]
    assert links["project_types"] == ["fiber-link"]
    assert links["countries"] == ["KG", "MM", "NP"]
    assert links["sentence"] == EXAMPLE
    assert len(line["proposals"]) == 2


@pytest.mark.django_db
def test_the_same_file_again_is_known_and_succeeds(text_file):
    first_status, [first] = run(text_file, "--sync", "--json")
    status, [again] = run(text_file, "--sync", "--json")
    assert first_status == status == 0
    assert again["id"] == first["id"]
    assert again["status"] == "done"
    assert again["mentions"] == first["mentions"]
    assert SourceDocument.objects.filter(sha256=first["sha256"]).count() == 1


@pytest.mark.django_db
def test_reprocess_gives_the_same_result(text_file):
    _, [first] = run(text_file, "--sync", "--json")
    status, [again] = run(text_file, "--sync", "--json", "--reprocess")
    assert status == 0
    assert {k: again[k] for k in CONTRACT} == {k: first[k] for k in CONTRACT}


@pytest.mark.django_db
def test_an_empty_file_fails_with_status_1(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    status, [line] = run(empty, "--sync", "--json")
    assert status == 1
    check_contract(line)
    assert line["status"] == "failed"
    assert line["id"] is None
    assert "empty" in line["error"]


@pytest.mark.django_db
def test_a_truncated_pdf_fails_with_status_1(tmp_path):
    status, [line] = run(truncated_pdf(tmp_path), "--sync", "--json")
    assert status == 1
    check_contract(line)
    assert line["status"] == "failed"
    assert "damaged or truncated" in line["error"]
    assert SourceDocument.objects.get(pk=line["id"]).status == ProcessingStatus.FAILED


@pytest.mark.django_db
def test_a_failed_file_imported_again_is_known(tmp_path):
    path = truncated_pdf(tmp_path)
    assert run(path, "--sync", "--json")[0] == 1
    status, [line] = run(path, "--sync", "--json")
    assert status == 0  # already known: nothing new failed
    assert line["status"] == "failed"


@pytest.mark.django_db
def test_several_paths_give_one_line_each_in_order(tmp_path, text_file):
    other = tmp_path / "kenya.txt"
    other.write_text("Huawei built a data centre in Kenya for the government of Kenya.")
    missing = tmp_path / "missing.txt"
    status, lines = run(text_file, other, missing, "--sync", "--json")
    assert status == 1
    assert len(lines) == 3
    for line in lines:
        check_contract(line)
    assert [line["status"] for line in lines] == ["done", "done", "failed"]
    assert lines[1]["mentions"]["countries"] == ["KE"]
    assert lines[0]["id"] != lines[1]["id"]
    assert lines[2]["id"] is None
    assert str(missing) in lines[2]["error"]


@pytest.mark.django_db
def test_every_document_done_gives_status_0(tmp_path, text_file):
    other = tmp_path / "kenya.txt"
    other.write_text("Huawei built a data centre in Kenya.")
    status, lines = run(text_file, other, "--sync", "--json")
    assert status == 0
    assert [line["status"] for line in lines] == ["done", "done"]


@pytest.mark.django_db
def test_metadata_flags_are_stored(text_file):
    status, [line] = run(
        text_file,
        "--sync",
        "--json",
        "--title",
        "Links across Asia",
        "--date",
        "2021-05",
        "--kind",
        "report",
        "--authors",
        "A. Author; B. Author",
        "--language",
        "en",
    )
    assert status == 0
    assert line["title"] == "Links across Asia"
    document = SourceDocument.objects.get(pk=line["id"])
    assert document.title == "Links across Asia"
    assert str(document.published) == "2021-05"
    assert document.kind == "report"
    assert document.authors == ["A. Author", "B. Author"]


@pytest.mark.django_db
def test_bad_metadata_fails_naming_the_field(text_file):
    status, [line] = run(text_file, "--sync", "--json", "--date", "2020-13")
    assert status == 1
    assert line["status"] == "failed"
    assert line["error"].startswith("date:")
    assert not SourceDocument.objects.filter(original_filename=text_file.name).exists()


@pytest.mark.django_db
def test_without_json_a_summary_is_printed(text_file):
    out = io.StringIO()
    call_command("import_document", str(text_file), "--sync", stdout=out, stderr=io.StringIO())
    assert "done" in out.getvalue()
    assert "5 countries, 2 organisations, 2 kinds of project, 2 proposals" in out.getvalue()


@pytest.mark.slow
def test_the_real_command_in_a_subprocess(committed_db, tmp_path, text_file):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    env = child_environment(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.test",
        MEDIA_ROOT=str(tmp_path / "media"),
        DSR_BROKER_DIR=str(tmp_path / "broker"),
    )
    command = [sys.executable, "manage.py", "import_document", "--sync", "--json"]

    def run_process(*paths):
        result = subprocess.run(
            [*command, *map(str, paths)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]

    code, lines = run_process(text_file)
    assert code == 0, lines
    [line] = lines
    check_contract(line)
    assert line["status"] == "done"
    assert line["mentions"]["companies"] == ["china-mobile", "huawei"]
    assert SourceDocument.objects.get(pk=line["id"]).status == ProcessingStatus.DONE

    code, lines = run_process(text_file, empty)
    assert code == 1
    assert [(line["id"] is None, line["status"]) for line in lines] == [
        (False, "done"),
        (True, "failed"),
    ]


@pytest.mark.django_db
def test_without_sync_the_document_is_queued_for_a_worker(
    text_file, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        out = io.StringIO()
        call_command("import_document", str(text_file), stdout=out)
    assert len(callbacks) == 1, "one task enqueued"
    document = SourceDocument.objects.get(original_filename=text_file.name)
    assert document.status == ProcessingStatus.QUEUED
    assert f"document {document.pk} queued" in out.getvalue()


@pytest.mark.django_db
def test_json_without_sync_waits_and_fails_when_no_worker_finishes(text_file):
    # No worker runs in this test: after the wait the document is still queued, which is
    # not success.
    status, lines = run(text_file, "--json", "--wait", "1")
    assert status == 1
    assert lines[0]["status"] == ProcessingStatus.QUEUED
