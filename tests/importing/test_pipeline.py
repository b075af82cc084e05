"""The import services end to end in this process: intake (refuse, store, deduplicate, enqueue
on commit) and processing (extract, detect, propose, store), run again and again."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from fpdf import FPDF

from projects.models import (
    Company,
    Country,
    Mention,
    ProcessingStatus,
    ProjectCompany,
    ProjectCountry,
    Proposal,
    ProposalStatus,
    SourceDocument,
)
from projects.services import imports
from projects.services.imports import document_import, document_process, document_reprocess
from projects.tasks import process_document
from tests.support import celery_broker

pytestmark = pytest.mark.django_db

EXAMPLE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."
TEXT = (
    "Digital links in Asia\n\n"
    f"{EXAMPLE} The plan was announced in Beijing by the Chinese government. "
    "Huawei signed a contract for a data centre in Kenya.\n\n"
    "China Mobile is also building fiber-optic links to Kyrgyzstan, Nepal and Myanmar, "
    "officials said. Kenya and Nepal are far apart.\n"
)
SPANISH = (
    "Huawei construyó un centro de datos en Perú para el gobierno. La obra fue anunciada "
    "por el ministro, que también habló de los cables de fibra óptica hacia Bolivia y de "
    "las ciudades seguras que se instalan en Ecuador con empresas chinas."
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def make_pdf(pages: list[str], title: str = "") -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def truncated_pdf() -> bytes:
    data = make_pdf(["Huawei built a data centre in Kenya."] * 3)
    return data[: len(data) // 2]


def imported(data: bytes, filename: str = "notes.txt", **arguments):
    """Import and process `data`; the document, read back."""
    result = document_import(data=data, filename=filename, **arguments)
    assert result.created
    assert document_process(result.document.pk) == ProcessingStatus.DONE
    return SourceDocument.objects.get(pk=result.document.pk)


def mention_rows(document):
    return list(
        Mention.objects.filter(document=document)
        .order_by("start")
        .values_list("start", "end", "text", "sentence", "country", "company", "project_type")
    )


def proposal_rows(document):
    return sorted(
        (
            p.key,
            p.status,
            p.sentence,
            tuple(p.sentences),
            p.confidence,
            tuple(sorted(c.slug for c in p.companies.all())),
            tuple(sorted(t.slug for t in p.project_types.all())),
            tuple(sorted(c.iso2 for c in p.countries.all())),
        )
        for p in Proposal.objects.filter(document=document)
    )


def events(document):
    return SourceDocument.pgh_event_model.objects.filter(pgh_obj_id=document.pk).order_by("pgh_id")


def refusal(**arguments) -> dict:
    with pytest.raises(ValidationError) as caught:
        document_import(**arguments)
    return caught.value.message_dict


# Processing ---------------------------------------------------------------------------------


def test_a_text_document_is_processed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        result = document_import(data=TEXT.encode(), filename="notes.txt")
    assert len(callbacks) == 1
    assert result.created and result.document.status == ProcessingStatus.QUEUED
    assert document_process(result.document.pk) == ProcessingStatus.DONE

    document = SourceDocument.objects.get(pk=result.document.pk)
    assert (document.status, document.progress, document.error) == ("done", 100, "")
    assert document.text == TEXT.strip()
    assert document.media_type == "text/plain"
    summary = imports.document_summary(document)
    assert summary["mentions"] == {
        "countries": ["CN", "KE", "KG", "MM", "NP"],
        "companies": ["china-mobile", "huawei"],
        "project_types": ["data-center", "fiber-link"],
    }


def test_mentions_have_exact_offsets_and_their_sentence():
    document = imported(TEXT.encode())
    mentions = list(Mention.objects.filter(document=document).select_related("country", "company"))
    assert mentions
    for mention in mentions:
        assert document.text[mention.start : mention.end] == mention.text
        assert mention.text in mention.sentence
        sentence_start = document.text.index(mention.sentence)
        assert sentence_start <= mention.start
        assert mention.end <= sentence_start + len(mention.sentence)
        named = [mention.country_id, mention.company_id, mention.project_type_id]
        assert sum(1 for entity in named if entity is not None) == 1
    first = mentions[0]
    assert (first.text, first.company.slug, first.sentence) == (
        "China Mobile",
        "china-mobile",
        EXAMPLE,
    )
    assert first.start == document.text.index(EXAMPLE)


def test_proposals_carry_their_entities_sentences_and_confidence():
    document = imported(TEXT.encode())
    proposals = {
        tuple(sorted(c.iso2 for c in p.countries.all())): p for p in document.proposals.all()
    }
    assert set(proposals) == {("KG", "MM", "NP"), ("KE",)}

    links = proposals[("KG", "MM", "NP")]
    assert [c.slug for c in links.companies.all()] == ["china-mobile"]
    assert [t.slug for t in links.project_types.all()] == ["fiber-link"]
    assert links.sentence == EXAMPLE
    assert links.sentences == [
        EXAMPLE,
        "China Mobile is also building fiber-optic links to Kyrgyzstan, Nepal and Myanmar, "
        "officials said.",
    ]
    assert links.start == document.text.index(EXAMPLE)
    assert links.status == ProposalStatus.PENDING
    assert 0 < links.confidence <= 1

    centre = proposals[("KE",)]
    assert [c.slug for c in centre.companies.all()] == ["huawei"]
    assert [t.slug for t in centre.project_types.all()] == ["data-center"]
    assert centre.sentence == "Huawei signed a contract for a data centre in Kenya."
    assert links.confidence > centre.confidence  # two sentences instead of one


def test_a_proposal_is_linked_to_the_existing_project_it_matches(make_project):
    project = make_project(name="China Mobile link to Myanmar", slug="cm-myanmar")
    ProjectCompany.objects.create(
        project=project, company=Company.objects.get(slug="china-mobile"), role="contractor"
    )
    ProjectCountry.objects.create(project=project, country=Country.objects.get(iso2="MM"))
    document = imported(TEXT.encode())
    links = document.proposals.get(countries__iso2="MM")
    assert links.project == project


def test_a_proposal_matching_no_project_has_none():
    document = imported(EXAMPLE.encode())
    assert document.proposals.get().project is None


def test_pdf_mentions_know_their_page():
    pages = ["An introduction without names.", EXAMPLE, "Huawei built a data centre in Kenya."]
    document = imported(make_pdf(pages, title="Links"), filename="links.pdf")
    assert document.page_count == 3
    assert document.media_type == "application/pdf"
    pages_of = dict(Mention.objects.filter(document=document).values_list("text", "page"))
    assert pages_of["Myanmar"] == 2
    assert pages_of["Kenya"] == 3
    assert {p.page for p in document.proposals.all()} == {2, 3}


# Deduplication and reprocessing ------------------------------------------------------------


def test_the_same_bytes_twice_give_the_same_document(django_capture_on_commit_callbacks):
    first = imported(TEXT.encode())
    with django_capture_on_commit_callbacks() as callbacks:
        again = document_import(data=TEXT.encode(), filename="other-name.txt")
    assert not again.created
    assert again.document.pk == first.pk
    assert callbacks == []
    assert SourceDocument.objects.filter(sha256=first.sha256).count() == 1
    assert SourceDocument.objects.get(pk=first.pk).status == ProcessingStatus.DONE


def test_the_same_bytes_with_reprocess_are_queued_again(django_capture_on_commit_callbacks):
    first = imported(TEXT.encode())
    with django_capture_on_commit_callbacks() as callbacks:
        again = document_import(data=TEXT.encode(), reprocess=True)
    assert not again.created and again.document.pk == first.pk
    assert len(callbacks) == 1
    document = SourceDocument.objects.get(pk=first.pk)
    assert (document.status, document.progress, document.error) == ("queued", 0, "")


def test_processing_twice_gives_the_same_result():
    document = imported(TEXT.encode())
    mentions, proposals = mention_rows(document), proposal_rows(document)
    assert len(mentions) > 10 and len(proposals) == 2
    document_reprocess(document, enqueue=False)
    assert document_process(document.pk) == ProcessingStatus.DONE
    assert document_process(document.pk) == ProcessingStatus.DONE
    assert mention_rows(document) == mentions
    assert proposal_rows(document) == proposals
    assert Mention.objects.filter(document=document).count() == len(mentions)
    assert Proposal.objects.filter(document=document).count() == 2


def test_decided_proposals_survive_reprocessing():
    document = imported(TEXT.encode())
    rejected = document.proposals.get(countries__iso2="MM")
    accepted = document.proposals.get(countries__iso2="KE")
    rejected.status, rejected.rejection_reason = ProposalStatus.REJECTED, "Already known."
    accepted.status = ProposalStatus.ACCEPTED
    for proposal in (rejected, accepted):
        proposal.decided_at = timezone.now()
        proposal.save()

    assert document_process(document.pk) == ProcessingStatus.DONE
    assert Proposal.objects.filter(document=document).count() == 2
    assert not Proposal.objects.filter(document=document, status=ProposalStatus.PENDING).exists()
    rejected.refresh_from_db()
    accepted.refresh_from_db()
    assert (rejected.status, rejected.rejection_reason) == ("rejected", "Already known.")
    assert accepted.status == "accepted"
    assert sorted(c.iso2 for c in rejected.countries.all()) == ["KG", "MM", "NP"]


# Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t  "])
def test_an_empty_file_is_refused(data):
    errors = refusal(data=data, filename="empty.txt")
    assert list(errors) == ["file"]
    assert "empty" in errors["file"][0]
    assert not SourceDocument.objects.filter(original_filename="empty.txt").exists()


def test_an_unsupported_format_is_refused_naming_the_accepted_ones():
    errors = refusal(data=PNG_HEADER + bytes(range(256)) * 4, filename="report.pdf")
    assert list(errors) == ["file"]
    assert "Accepted formats: PDF, HTML, DOCX, plain text and Markdown" in errors["file"][0]
    assert "image" in errors["file"][0].lower()


@override_settings(IMPORT_MAX_UPLOAD_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused():
    errors = refusal(data=b"Kenya. " * 200, filename="big.txt")
    assert list(errors) == ["file"]
    assert "DSR_IMPORT_MAX_UPLOAD_BYTES" in errors["file"][0]


@pytest.mark.parametrize(
    "metadata, field",
    [
        ({"date": "2020-13"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"kind": "blog"}, "kind"),
        ({"colour": "red"}, "colour"),
        ({"title": 12}, "title"),
        ({"authors": 3}, "authors"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(metadata, field):
    errors = refusal(data=TEXT.encode(), filename="notes.txt", metadata=metadata)
    assert list(errors) == [field]
    assert not SourceDocument.objects.filter(original_filename="notes.txt").exists()


def test_metadata_is_stored():
    result = document_import(
        data=TEXT.encode(),
        metadata={
            "title": " Links ",
            "authors": "A. Author; B. Author",
            "publisher": "Institute",
            "date": "2021-05",
            "url": "https://example.org/links",
            "language": "EN",
            "kind": "report",
        },
    )
    document = SourceDocument.objects.get(pk=result.document.pk)
    assert document.title == "Links"
    assert document.authors == ["A. Author", "B. Author"]
    assert (document.publisher, document.url, document.language, document.kind) == (
        "Institute",
        "https://example.org/links",
        "en",
        "report",
    )
    assert str(document.published) == "2021-05"


# Failures -----------------------------------------------------------------------------------


def test_a_truncated_pdf_fails_and_the_worker_carries_on():
    broken = document_import(data=truncated_pdf(), filename="broken.pdf").document
    good = document_import(data=TEXT.encode(), filename="good.txt").document
    assert broken.media_type == "application/pdf"

    assert process_document.apply(args=(broken.pk,)).get() == ProcessingStatus.FAILED
    assert process_document.apply(args=(good.pk,)).get() == ProcessingStatus.DONE

    broken.refresh_from_db()
    assert broken.status == ProcessingStatus.FAILED
    assert "damaged or truncated" in broken.error
    assert "Traceback" not in broken.error
    assert not broken.mentions.exists() and not broken.proposals.exists()
    good.refresh_from_db()
    assert (good.status, good.progress, good.error) == ("done", 100, "")
    assert good.mentions.exists()


def test_an_unexpected_error_fails_the_document_with_a_message(monkeypatch):
    document = document_import(data=TEXT.encode()).document

    def broken_detector():
        raise RuntimeError("dictionary exploded")

    monkeypatch.setattr(imports, "current_detector", broken_detector)
    assert process_document.apply(args=(document.pk,)).get() == ProcessingStatus.FAILED
    document.refresh_from_db()
    assert document.status == ProcessingStatus.FAILED
    assert "RuntimeError: dictionary exploded" in document.error


def test_a_failed_document_processes_after_the_failure_is_gone(monkeypatch):
    document = document_import(data=TEXT.encode()).document
    monkeypatch.setattr(imports, "current_detector", lambda: 1 / 0)
    process_document.apply(args=(document.pk,))
    monkeypatch.undo()
    document_reprocess(SourceDocument.objects.get(pk=document.pk), enqueue=False)
    assert document_process(document.pk) == ProcessingStatus.DONE
    document.refresh_from_db()
    assert (document.status, document.error) == ("done", "")


def test_a_document_without_a_file_is_not_processed_nor_reprocessed():
    document = SourceDocument.objects.create(title="Only metadata")
    assert document_process(document.pk) == "missing"
    with pytest.raises(ValidationError) as caught:
        document_reprocess(document)
    assert "file" in caught.value.message_dict


# Title and language -------------------------------------------------------------------------

HTML = (
    b"<html><head><title>Fiber for Nepal</title></head><body><nav>Home | About</nav>"
    b"<article><p>" + EXAMPLE.encode() + b" The work is well under way and the operators "
    b"expect the first traffic before the end of the year.</p></article></body></html>"
)


def test_the_title_is_taken_from_the_content_when_none_was_given():
    document = imported(HTML, filename="page.html")
    assert document.title == "Fiber for Nepal"
    assert document.media_type == "text/html"


def test_a_given_title_is_kept():
    document = imported(HTML, filename="page.html", metadata={"title": "My own title"})
    assert document.title == "My own title"


def test_without_any_title_the_file_name_is_used():
    document = imported(TEXT.encode(), filename="asia-links.txt")
    assert document.title == "asia-links"


@pytest.mark.parametrize("text, language", [(TEXT, "en"), (SPANISH, "es")])
def test_the_language_is_detected(text, language):
    assert imported(text.encode()).language == language


def test_a_given_language_is_kept():
    assert imported(SPANISH.encode(), metadata={"language": "pt"}).language == "pt"


def test_spanish_text_is_analysed():
    document = imported(SPANISH.encode())
    summary = imports.document_summary(document)
    assert summary["mentions"]["countries"] == ["BO", "CN", "EC", "PE"]
    assert "huawei" in summary["mentions"]["companies"]
    assert {"data-center", "fiber-link", "smart-city"} <= set(summary["mentions"]["project_types"])
    assert summary["proposals"][0]["countries"] == ["PE"]


# History and the queue ----------------------------------------------------------------------


def test_processing_and_progress_create_no_history_events():
    pages = [EXAMPLE, "Huawei built a data centre in Kenya.", "Nothing here."] * 4
    data = make_pdf(pages)
    document = document_import(
        data=data, filename="links.pdf", metadata={"title": "Links", "language": "en"}
    ).document
    assert [e.pgh_label for e in events(document)] == ["insert"]
    assert document_process(document.pk) == ProcessingStatus.DONE
    document_reprocess(SourceDocument.objects.get(pk=document.pk), enqueue=False)
    assert document_process(document.pk) == ProcessingStatus.DONE
    assert [e.pgh_label for e in events(document)] == ["insert"]


def test_an_edit_by_an_editor_is_still_recorded():
    document = imported(TEXT.encode(), metadata={"title": "Links", "language": "en"})
    document.publisher = "Institute"
    document.save()
    assert [e.pgh_label for e in events(document)] == ["insert", "update"]


def test_enqueueing_waits_for_the_commit_and_happens_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        document = document_import(data=TEXT.encode()).document
        assert SourceDocument.objects.get(pk=document.pk).status == ProcessingStatus.QUEUED
    assert len(callbacks) == 1


def test_a_broker_failure_leaves_the_document_queued_with_an_explanation(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        document = document_import(data=TEXT.encode()).document
    assert len(callbacks) == 1

    with celery_broker("redis://127.0.0.1:1/0"):
        callbacks[0]()  # must not raise: the request that imported has already answered

    document.refresh_from_db()
    assert document.status == ProcessingStatus.QUEUED
    assert "task queue could not be reached" in document.error
    assert "Reprocess" in document.error
