"""Importing documents through the API: multipart upload, download from a URL, reprocessing
and the mentions found, with permissions and clear refusals."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from projects.models import ProcessingStatus, SourceDocument
from projects.services.imports import document_import, document_process

from .conftest import token_client

pytestmark = pytest.mark.django_db

LIST = "/api/v1/documents/"
FETCH = "/api/v1/documents/fetch/"
EXAMPLE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."
TEXT = (
    f"{EXAMPLE} The plan was announced in Beijing.\n\n"
    "Huawei signed a contract for a data centre in Kenya."
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor(make_user):
    return token_client(
        make_user(
            "importer",
            "projects.add_sourcedocument",
            "projects.change_sourcedocument",
            "projects.view_sourcedocument",
        )
    )


@pytest.fixture
def adder(make_user):
    """May add documents, not change them."""
    return token_client(make_user("adder", "projects.add_sourcedocument"))


@pytest.fixture
def reader(make_user):
    return token_client(make_user("reader"))


def upload(client, data: bytes = TEXT.encode(), name: str = "asia-links.txt", **fields):
    return client.post(LIST, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def stored(data: bytes = TEXT.encode()) -> SourceDocument:
    return document_import(data=data, filename="asia-links.txt", enqueue=False).document


# Upload -------------------------------------------------------------------------------------


def test_anonymous_upload_is_401(api):
    assert upload(api).status_code == 401
    assert not SourceDocument.objects.filter(original_filename="asia-links.txt").exists()


def test_upload_without_permission_is_403(reader):
    assert upload(reader).status_code == 403
    assert not SourceDocument.objects.filter(original_filename="asia-links.txt").exists()


def test_an_editor_uploads_a_file(adder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(adder, title="Links across Asia", kind="report", date="2021-05")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == ProcessingStatus.QUEUED
    assert body["title"] == "Links across Asia"
    assert body["original_filename"] == "asia-links.txt"
    assert body["media_type"] == "text/plain"
    assert body["size"] == len(TEXT.encode())
    assert response["Location"] == body["url"]
    assert response["Location"].endswith(f"/api/v1/documents/{body['id']}/")
    assert len(callbacks) == 1
    document = SourceDocument.objects.get(pk=body["id"])
    assert (document.kind, str(document.published)) == ("report", "2021-05")
    assert document.uploaded_by.username == "adder"


def test_the_same_bytes_again_give_the_same_document(adder, django_capture_on_commit_callbacks):
    first = upload(adder).json()
    with django_capture_on_commit_callbacks() as callbacks:
        again = upload(adder, name="another-name.txt")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert callbacks == []


def test_an_empty_file_is_a_400_naming_file(adder):
    response = upload(adder, data=b"")
    assert response.status_code == 400
    assert "empty" in " ".join(response.json()["file"])


def test_a_blank_file_is_a_400_naming_file(adder):
    response = upload(adder, data=b"  \n\n  ")
    assert response.status_code == 400
    assert "empty" in " ".join(response.json()["file"])


def test_an_image_is_a_400_naming_the_accepted_formats(adder):
    response = upload(adder, data=PNG_HEADER + bytes(range(256)) * 4, name="scan.pdf")
    assert response.status_code == 400
    message = " ".join(response.json()["file"])
    assert "Accepted formats: PDF, HTML, DOCX, plain text and Markdown" in message


@override_settings(IMPORT_MAX_UPLOAD_BYTES=100)
def test_an_oversized_file_is_a_400_naming_the_limit(adder):
    response = upload(adder, data=b"Kenya. " * 100)
    assert response.status_code == 400
    assert "DSR_IMPORT_MAX_UPLOAD_BYTES" in " ".join(response.json()["file"])
    assert not SourceDocument.objects.filter(original_filename="asia-links.txt").exists()


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"date": "2020-13"}, "date"),
        ({"kind": "blog"}, "kind"),
        ({"source_url": "x"}, "source_url"),
    ],
)
def test_bad_metadata_is_a_400_naming_the_field(adder, fields, name):
    response = upload(adder, **fields)
    assert response.status_code == 400
    assert name in response.json()
    assert not SourceDocument.objects.filter(original_filename="asia-links.txt").exists()


def test_a_json_post_without_a_file_records_metadata_only(adder):
    response = adder.post(
        LIST, {"title": "A report", "source_url": "https://example.org/r"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == ProcessingStatus.METADATA_ONLY
    assert response.json()["file"] is None


# Fetch --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("ftp://example.org/report.pdf", "http"),
        ("file:///etc/passwd", "http"),
    ],
)
def test_fetching_from_a_non_public_address_is_a_400_naming_url(adder, url, reason):
    response = adder.post(FETCH, {"url": url}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "url" in body, body
    assert reason in " ".join(body["url"])


def test_fetch_without_permission_is_403(reader):
    assert reader.post(FETCH, {"url": "http://10.0.0.1/"}, format="json").status_code == 403


def test_fetch_anonymous_is_401(api):
    assert api.post(FETCH, {"url": "http://10.0.0.1/"}, format="json").status_code == 401


# Reprocess ----------------------------------------------------------------------------------


def test_an_editor_reprocesses_a_document(editor, django_capture_on_commit_callbacks):
    document = stored()
    document_process(document.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        response = editor.post(f"{LIST}{document.pk}/reprocess/")
    assert response.status_code == 202
    assert response.json()["status"] == ProcessingStatus.QUEUED
    assert response.json()["progress"] == 0
    assert len(callbacks) == 1
    assert SourceDocument.objects.get(pk=document.pk).status == ProcessingStatus.QUEUED


def test_reprocess_needs_the_change_permission(adder, reader):
    document = stored()
    assert adder.post(f"{LIST}{document.pk}/reprocess/").status_code == 403
    assert reader.post(f"{LIST}{document.pk}/reprocess/").status_code == 403


def test_reprocess_anonymous_is_refused(api):
    document = stored()
    assert api.post(f"{LIST}{document.pk}/reprocess/").status_code in (401, 403)


def test_reprocessing_a_document_without_a_file_is_a_400(editor):
    document = SourceDocument.objects.create(title="Only metadata")
    response = editor.post(f"{LIST}{document.pk}/reprocess/")
    assert response.status_code == 400
    assert "file" in response.json()


def test_reprocessing_a_missing_document_is_a_404(editor):
    assert editor.post(f"{LIST}999999999/reprocess/").status_code == 404


# Mentions -----------------------------------------------------------------------------------


def test_the_mentions_of_a_processed_document(api):
    document = stored()
    document_process(document.pk)
    response = api.get(f"{LIST}{document.pk}/mentions/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["results"]) == 8
    first = body["results"][0]
    assert first == {
        "start": 0,
        "end": 12,
        "text": "China Mobile",
        "sentence": EXAMPLE,
        "page": None,
        "kind": "company",
        "key": "china-mobile",
        "name": "China Mobile Communications Group Co., Ltd.",
    }
    assert [(m["kind"], m["key"]) for m in body["results"]] == [
        ("company", "china-mobile"),
        ("project_type", "fiber-link"),
        ("country", "MM"),
        ("country", "NP"),
        ("country", "KG"),
        ("company", "huawei"),
        ("project_type", "data-center"),
        ("country", "KE"),
    ]
    text = SourceDocument.objects.get(pk=document.pk).text
    for mention in body["results"]:
        assert text[mention["start"] : mention["end"]] == mention["text"]
        assert mention["text"] in mention["sentence"]


def test_the_mentions_are_paginated(api):
    document = stored()
    document_process(document.pk)
    first = api.get(f"{LIST}{document.pk}/mentions/", {"page_size": 3}).json()
    assert first["count"] == 8 and len(first["results"]) == 3
    assert first["next"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert [m["start"] for m in second["results"]] > [m["start"] for m in first["results"]]
    assert api.get(f"{LIST}{document.pk}/mentions/", {"page": 9}).status_code == 404


def test_a_document_not_yet_processed_has_no_mentions(api):
    document = stored()
    body = api.get(f"{LIST}{document.pk}/mentions/").json()
    assert (body["count"], body["results"]) == (0, [])
