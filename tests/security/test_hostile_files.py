"""Hostile files (issue "Hardening", criterion 4): zip bombs, XML entity expansion and
external entities in a DOCX, PDFs with enormous page counts and polyglot files each either
fail with a message that says why in words an editor understands, or are read safely as
exactly one format — within bounded memory and time — and the worker goes on with the next
document.

Every file is built here, in memory, from code. Two tests:

- in this process, the extraction of each file, its peak memory measured with tracemalloc
  (Python's allocations, machine-independent) and bounded;
- end to end, the files uploaded through the API and processed by a real Celery worker over
  Redis, started with its address space limited (RLIMIT_AS) so that unbounded inflation would
  kill it: each ends as expected, the worker process and its pool child are the same ones
  afterwards (not killed, not replaced for memory), and a good document after them is done.

Durations are printed (pytest -rP shows them), never asserted. Redis is used at
DSR_TEST_HOSTILE_REDIS_URL (default redis://127.0.0.1:6379/8, a database of its own that the
test empties); without Redis the end-to-end test is skipped, unless CI is "true".
"""

from __future__ import annotations

import http.server
import io
import os
import random
import re
import resource
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader, get_configuration
from rest_framework.test import APIClient

from projects.importing.extract import DOCX, HTML, MB, TEXT, ExtractionError, Limits, extract
from projects.models import Mention, ProcessingStatus, SourceDocument
from tests.importing.test_extract import (
    CONTENT_TYPES,
    W,
    make_docx,
    make_pdf,
    paragraph,
    pdf_page_tree,
    pdf_stream,
    raw_pdf,
)
from tests.importing.test_worker_redis import status_of, upload
from tests.support import (
    CeleryWorker,
    child_environment,
    database_url,
    emptied_redis_broker,
    wait_for,
)

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("DSR_TEST_HOSTILE_REDIS_URL", "redis://127.0.0.1:6379/8")
# The worker's address space: a worker process takes a few hundred megabytes of it, a normal
# document a few tens more; inflating any of these files without bounds needs gigabytes.
WORKER_ADDRESS_SPACE = 1536 * MB
PEAK_MEMORY = 100 * MB  # what extracting any of these files may allocate (tracemalloc)
SECRET = "HOSTILE-SECRET-4b1d"  # in a local file that external entities point to

GOOD_SENTENCE = "Huawei signed a contract to build a national data centre in Nairobi, Kenya."
NESTED_SENTENCE = "ZTE deployed a 5G network for Ethio Telecom in Ethiopia."
HTML_SENTENCE = "China Mobile is building fiber-optic links to Myanmar, Nepal and Kyrgyzstan."
SCRIPT = "<script>alert(document.cookie)</script>"


# ZIP archives written byte by byte ---------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes  # as stored: deflated when method is 8
    crc: int
    size: int  # what the headers claim it unpacks to
    method: int = zipfile.ZIP_DEFLATED

    def local_header(self) -> bytes:
        name = self.name.encode()
        fields = (20, 0, self.method, 0, 0x21, self.crc, len(self.data), self.size, len(name), 0)
        return struct.pack("<4s5H3I2H", b"PK\x03\x04", *fields) + name

    def central_record(self, offset: int, name: str | None = None) -> bytes:
        encoded = (name or self.name).encode()
        fields = (20, 20, 0, self.method, 0, 0x21, self.crc, len(self.data), self.size)
        rest = (len(encoded), 0, 0, 0, 0, 0, offset)
        return struct.pack("<4s6H3I5H2I", b"PK\x01\x02", *fields, *rest) + encoded


def stored(name: str, content: bytes) -> Member:
    return Member(name, content, zlib.crc32(content), len(content), zipfile.ZIP_STORED)


def archive(members: list[Member], listed: list[tuple[int, str]] = ()) -> bytes:
    """A ZIP of `members`; `listed` adds central records (member index, name) pointing at a
    member already written: members that overlap."""
    out = io.BytesIO()
    offsets = []
    for member in members:
        offsets.append(out.tell())
        out.write(member.local_header() + member.data)
    records = [m.central_record(offset) for m, offset in zip(members, offsets, strict=True)]
    records += [members[index].central_record(offsets[index], name) for index, name in listed]
    start = out.tell()
    directory = b"".join(records)
    count = min(len(records), 0xFFFF)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0)
    return out.getvalue() + directory + end


def zeros(size: int) -> Member:
    """`size` zero bytes deflated, built from one compressed megabyte repeated: after a full
    flush, the compressor emits the same bytes for the same input. Never held inflated."""
    chunk = bytes(MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH) == repeated
    count = size // MB
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    data = first + repeated * (count - 1) + compressor.flush()
    return Member("word/document.xml", data, crc, size)


def docx_parts() -> list[Member]:
    return [stored("[Content_Types].xml", CONTENT_TYPES.encode())]


def document_xml(body: str) -> bytes:
    return f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'.encode()


def zip_bomb() -> bytes:
    return archive([*docx_parts(), zeros(2560 * MB)])


def zip_bomb_understating_its_size() -> bytes:
    bomb = zeros(2560 * MB)
    return archive([*docx_parts(), Member(bomb.name, bomb.data, bomb.crc, 1000)])


def overlapping_members() -> bytes:
    """One 100 MB member listed under a hundred names (D. Fifield's "better zip bomb")."""
    kernel = zeros(100 * MB)
    document = stored("word/document.xml", document_xml(paragraph("<w:t>Kernel</w:t>")))
    kernel = Member("word/media/image0.bin", kernel.data, kernel.crc, kernel.size)
    names = [(2, f"word/media/image{number}.bin") for number in range(1, 100)]
    return archive([*docx_parts(), document, kernel], names)


def a_million_members() -> bytes:
    """A 45 MB archive listing one empty member a million times."""
    empty = stored("word/document.xml", b"")
    return archive([empty], [(0, "a")] * 1_000_000)


def nested_zip_bomb() -> bytes:
    """A DOCX carrying, as an embedded object, a zip of zips: 10 GB three levels down."""
    kernel = zeros(100 * MB)
    inner = archive([kernel], [(0, f"{number}.bin") for number in range(9)])
    middle = archive([stored(f"{number}.zip", inner) for number in range(10)])
    buffer = io.BytesIO(make_docx(paragraph(f"<w:t>{NESTED_SENTENCE}</w:t>")))
    with zipfile.ZipFile(buffer, "a") as docx:
        docx.writestr("word/embeddings/package.zip", middle, zipfile.ZIP_STORED)
    return buffer.getvalue()


# XML entities -------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)


def billion_laughs(traps: Traps) -> bytes:
    return make_docx(paragraph("<w:t>Huawei &lol9; Kenya</w:t>"), doctype=BILLION_LAUGHS)


def external_entities(traps: Traps) -> bytes:
    doctype = (
        f'<!DOCTYPE d [<!ENTITY file SYSTEM "file://{traps.secret}">'
        f'<!ENTITY web SYSTEM "{traps.url}/entity">]>'
    )
    return make_docx(paragraph("<w:t>Kenya &file; and &web;</w:t>"), doctype=doctype)


def external_dtd(traps: Traps) -> bytes:
    doctype = (
        f'<!DOCTYPE d SYSTEM "{traps.url}/doctype.dtd" '
        f'[<!ENTITY % p SYSTEM "{traps.url}/parameter">%p;]>'
    )
    return make_docx(paragraph("<w:t>Kenya</w:t>"), doctype=doctype)


def xinclude(traps: Traps) -> bytes:
    include = (
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        f'href="file://{traps.secret}" parse="text"/>'
    )
    return make_docx(paragraph("<w:t>Before the include</w:t>") + paragraph(include))


# PDF ---------------------------------------------------------------------------------------


def pdf_declaring_pages() -> bytes:
    return raw_pdf(*pdf_page_tree(b"3 0 R", count=10_000_000))


def pdf_page_tree_bomb() -> bytes:
    """A root listing node 6 a thousand times, which lists page 3 a thousand times: a million
    pages in 12 KB, the root claiming one."""
    objects = pdf_page_tree(b" ".join([b"6 0 R"] * 1000), count=1)
    pages = b" ".join([b"3 0 R"] * 1000)
    objects.append(b"<</Type/Pages/Parent 2 0 R/Count 1000/Kids[%s]>>" % pages)
    return raw_pdf(*objects)


def pdf_of_pages(count: int, *, declared: int | None = None) -> bytes:
    """`count` distinct pages, 500 to a node of the page tree; the root says `declared`."""
    groups = range((count + 499) // 500)
    first_page = 6 + len(groups)
    objects = pdf_page_tree(b" ".join(b"%d 0 R" % (6 + group) for group in groups), count)
    objects[1] = objects[1].replace(b"/Count %d" % count, b"/Count %d" % (declared or count))
    for group in groups:
        numbers = range(first_page + group * 500, first_page + min(count, (group + 1) * 500))
        kids = b" ".join(b"%d 0 R" % number for number in numbers)
        objects.append(b"<</Type/Pages/Parent 2 0 R/Count %d/Kids[%s]>>" % (len(numbers), kids))
    page = b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>"
    objects += [page % (6 + number // 500) for number in range(count)]
    return raw_pdf(*objects)


def pdf_page_bomb() -> bytes:
    """A page whose content stream inflates to 1 GB of zeros."""
    deflated = zeros(1024 * MB)
    adler = 1
    for _ in range(1024):
        adler = zlib.adler32(bytes(MB), adler)
    stream = b"\x78\xda" + deflated.data + struct.pack(">I", adler)
    objects = pdf_page_tree(b"3 0 R", count=1)
    objects[3] = pdf_stream(stream, b"/Filter/FlateDecode")
    return raw_pdf(*objects)


# Polyglots ---------------------------------------------------------------------------------

GIF = bytes.fromhex("474946383961010001008000000000ffffff2c00000000010001000002024401003b")


def padded_docx(sentence: str) -> bytes:
    """A DOCX over 1 KB (so that what is appended lies past the first kilobyte)."""
    buffer = io.BytesIO(make_docx(paragraph(f"<w:t>{sentence}</w:t>")))
    with zipfile.ZipFile(buffer, "a") as docx:
        picture = random.Random(4).randbytes(4096)
        docx.writestr("word/media/image1.png", picture, zipfile.ZIP_STORED)
    return buffer.getvalue()


def html_page(sentence: str) -> bytes:
    return f"<html><body>{SCRIPT}<p>{sentence}</p></body></html>".encode()


SVG_OR_HTML = html_page("Kenya")
SVG = f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}<text>ZTE</text></svg>'.encode()


# The cases ---------------------------------------------------------------------------------


@dataclass
class Traps:
    """A local file holding SECRET and a web server that records every request: what
    external entities point to."""

    secret: Path
    url: str
    requests: list[str]


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[Traps], bytes]
    refusal: tuple[str, ...] = ()  # words of the message refusing it
    read_as: str | None = None  # or the media type it is read as, safely
    text: str = ""  # which then holds this
    never: tuple[str, ...] = ()  # what its text and message never hold
    at_upload: bool = False  # refused when uploaded, before any worker sees it
    peak: int = PEAK_MEMORY  # what reading it may allocate at most


def ignoring_traps(build: Callable[[], bytes]) -> Callable[[Traps], bytes]:
    return lambda traps: build()


DTD_REFUSAL = ("declares XML entities", "entity expansion", "not read")
PDF_DAMAGED = ("PDF is damaged or truncated",)
HOSTILE = [
    Hostile(
        "DOCX zip bomb of 2.5 GB",
        ignoring_traps(zip_bomb),
        ("would unpack to 2,560 MB", "more than the 200 MB allowed", "UNCOMPRESSED_BYTES"),
    ),
    Hostile(
        "DOCX zip bomb whose headers claim 1,000 bytes",
        ignoring_traps(zip_bomb_understating_its_size),
        ("DOCX file is damaged", "cannot be unpacked"),
    ),
    Hostile(
        "DOCX of overlapping members, 10 GB",
        ignoring_traps(overlapping_members),
        ("would unpack to 10,000 MB", "more than the 200 MB allowed"),
    ),
    Hostile(
        "DOCX listing a million members",
        ignoring_traps(a_million_members),
        ("more than 10,000 parts", "not unpacked"),
    ),
    Hostile(
        "DOCX carrying a nested zip bomb",
        ignoring_traps(nested_zip_bomb),
        read_as=DOCX,
        text=NESTED_SENTENCE,
    ),
    Hostile("DOCX with a billion laughs", billion_laughs, DTD_REFUSAL, never=("lol",)),
    Hostile("DOCX with external entities", external_entities, DTD_REFUSAL, never=(SECRET,)),
    Hostile("DOCX with an external DTD", external_dtd, DTD_REFUSAL, never=(SECRET,)),
    Hostile(
        "DOCX with an XInclude of a local file",
        xinclude,
        read_as=DOCX,
        text="Before the include",
        never=(SECRET,),
    ),
    Hostile(
        "PDF declaring 10,000,000 pages",
        ignoring_traps(pdf_declaring_pages),
        ("10,000,000 pages", "more than the 2,000 pages allowed", "DSR_IMPORT_MAX_PAGES"),
    ),
    Hostile(
        "PDF whose page tree lists a page a million times",
        ignoring_traps(pdf_page_tree_bomb),
        ("more than 2,000 pages", "too complex to read safely", "DSR_IMPORT_MAX_PAGES"),
    ),
    Hostile(
        "PDF of 5,000 pages",
        ignoring_traps(lambda: pdf_of_pages(5000)),
        ("5,000 pages", "more than the 2,000 pages allowed"),
    ),
    Hostile(
        "PDF of 150,000 pages claiming 1",
        ignoring_traps(lambda: pdf_of_pages(150_000, declared=1)),
        ("more than 2,000 pages", "DSR_IMPORT_MAX_PAGES"),
    ),
    Hostile(
        "PDF whose page inflates to 1 GB",
        ignoring_traps(pdf_page_bomb),
        ("Page 1 of the PDF is too large or too complex to read safely",),
        # pypdf inflates a stream to at most this, in pieces that it then joins.
        peak=2 * get_configuration().zlib_maximum_output_length + 10 * MB,
    ),
    Hostile(
        "PDF with a DOCX appended",
        ignoring_traps(lambda: make_pdf([GOOD_SENTENCE]) + padded_docx(NESTED_SENTENCE)),
        PDF_DAMAGED,
        never=(NESTED_SENTENCE,),
    ),
    Hostile(
        "DOCX with a PDF appended",
        ignoring_traps(lambda: padded_docx(NESTED_SENTENCE) + make_pdf([HTML_SENTENCE])),
        read_as=DOCX,
        text=NESTED_SENTENCE,
        never=(HTML_SENTENCE,),
    ),
    Hostile(
        "HTML with a script whose first bytes are %PDF",
        ignoring_traps(lambda: b"%PDF-1.7\n" + html_page(HTML_SENTENCE) + b"\n%%EOF\n"),
        PDF_DAMAGED,
        never=("alert",),
    ),
    Hostile(
        "GIF image with a DOCX appended (GIFAR)",
        ignoring_traps(lambda: GIF + padded_docx(NESTED_SENTENCE)),
        ("not in a format that can be imported", "(a GIF image)"),
        at_upload=True,
    ),
    Hostile(
        "HTML page with a script, named .docx",
        ignoring_traps(lambda: html_page(HTML_SENTENCE)),
        read_as=HTML,
        text=HTML_SENTENCE,
        never=("alert", "script", "cookie"),
    ),
    Hostile(
        "DOCX whose document is HTML with a script",
        ignoring_traps(lambda: archive([*docx_parts(), stored("word/document.xml", SVG_OR_HTML)])),
        ("DOCX file is damaged", "no document body"),
    ),
    Hostile(
        "SVG image with a script",
        ignoring_traps(lambda: SVG),
        read_as=TEXT,  # its markup is text, never rendered
        text=SCRIPT,
    ),
]


@pytest.fixture(scope="module")
def traps(tmp_path_factory):
    secret = tmp_path_factory.mktemp("traps") / "secret.txt"
    secret.write_text(SECRET)
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(SECRET.encode())

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Traps(secret, f"http://127.0.0.1:{server.server_address[1]}", requests)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def files(traps) -> dict[str, bytes]:
    return {hostile.name: hostile.build(traps) for hostile in HOSTILE}


def test_the_cases_are_what_they_claim(files):
    """The bombs really are bombs: what their headers list, not what a file is."""
    bomb = zipfile.ZipFile(io.BytesIO(files["DOCX zip bomb of 2.5 GB"]))
    assert bomb.getinfo("word/document.xml").file_size == 2560 * MB
    with bomb.open("word/document.xml") as member:
        assert member.read(MB) == bytes(MB)
    assert len(files["DOCX zip bomb of 2.5 GB"]) < 3 * MB
    overlapping = zipfile.ZipFile(io.BytesIO(files["DOCX of overlapping members, 10 GB"]))
    assert sum(member.file_size for member in overlapping.infolist()) > 10_000 * MB
    million = files["DOCX listing a million members"]
    assert million.count(b"PK\x01\x02") == 1_000_001
    assert len(million) < 50 * MB  # under the upload limit
    nested = zipfile.ZipFile(io.BytesIO(files["DOCX carrying a nested zip bomb"]))
    middle = zipfile.ZipFile(io.BytesIO(nested.read("word/embeddings/package.zip")))
    inner = zipfile.ZipFile(io.BytesIO(middle.read("0.zip")))
    assert len(middle.namelist()) * sum(m.file_size for m in inner.infolist()) == 10_000 * MB
    assert len(PdfReader(io.BytesIO(files["PDF of 5,000 pages"])).pages) == 5000
    gifar = files["GIF image with a DOCX appended (GIFAR)"]
    assert gifar.startswith(b"GIF89a")
    assert zipfile.ZipFile(io.BytesIO(gifar)).testzip() is None
    assert zipfile.ZipFile(io.BytesIO(files["DOCX with a PDF appended"])).testzip() is None


def check_outcome(hostile: Hostile, text: str, media_type: str, error: str) -> None:
    if hostile.read_as is None:
        assert error, f"{hostile.name} was read: {text[:200]!r}"
        for words in hostile.refusal:
            assert words in error, error
        assert "DSR_IMPORT_TIME_LIMIT" not in error and "took longer" not in error
        assert "unexpected error" not in error
        assert text == ""
    else:
        assert not error, error
        assert media_type == hostile.read_as
        assert hostile.text in text
    for secret in (SECRET, *hostile.never):
        assert secret not in text and secret not in error


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda hostile: hostile.name)
def test_each_file_is_refused_or_read_safely_within_bounded_memory(hostile, files, traps):
    limits = Limits.from_settings()
    assert (limits.max_uncompressed_bytes, limits.max_pages) == (200 * MB, 2000)
    text = media_type = error = ""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        extracted = extract(files[hostile.name], limits=limits)
        text, media_type = extracted.text, extracted.media_type
    except ExtractionError as refusal:
        error = str(refusal)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"{hostile.name}: {seconds:.2f} s, peak {peak / MB:.1f} MB: {error or media_type}")
    check_outcome(hostile, text, media_type, error)
    assert peak < hostile.peak
    assert traps.requests == []


# End to end --------------------------------------------------------------------------------


@pytest.fixture
def redis_broker():
    with emptied_redis_broker(REDIS_URL) as client:
        yield client


@pytest.fixture
def editor_client(committed_db):
    user = get_user_model().objects.create_user("hostile-importer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="add_sourcedocument"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def limit_address_space() -> None:  # in the worker process, before it starts
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_ADDRESS_SPACE, WORKER_ADDRESS_SPACE))


@pytest.fixture
def limited_worker(tmp_path, settings, redis_broker, committed_db):
    """A Celery worker (one pool child) whose processes may map WORKER_ADDRESS_SPACE."""
    settings.MEDIA_ROOT = tmp_path / "media"
    env = child_environment(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="dsr_kb.settings.test",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    worker = CeleryWorker(tmp_path / "hostile.log", env, preexec_fn=limit_address_space)
    try:
        yield worker
    finally:
        worker.stop()


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def status_line(pid: int, name: str) -> str:
    """A line of /proc/PID/status: VmHWM is the peak resident memory of the process."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return "(the process is gone)"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "")


def send(client, hostile: Hostile, data: bytes):
    """Upload `data` under a file name of the format it claims to be."""
    claimed = hostile.name.split()[0].lower()
    extension = ".docx" if hostile.name.endswith("named .docx") else f".{claimed}"
    file = SimpleUploadedFile(f"hostile{extension}", data)
    return client.post(
        "/api/v1/documents/", {"file": file, "title": hostile.name}, format="multipart"
    )


def test_hostile_files_fail_cleanly_and_the_worker_goes_on(
    limited_worker, editor_client, files, traps
):
    worker = limited_worker
    assert wait_for(lambda: children(worker.process.pid), 30)
    pool = children(worker.process.pid)
    for pid in (worker.process.pid, *pool):
        assert resource.prlimit(pid, resource.RLIMIT_AS)[1] == WORKER_ADDRESS_SPACE

    documents: list[tuple[Hostile, SourceDocument]] = []
    for hostile in HOSTILE:
        response = send(editor_client, hostile, files[hostile.name])
        if hostile.at_upload:
            assert response.status_code == 400, response.content
            message = " ".join(response.json()["file"])
            for words in hostile.refusal:
                assert words in message, message
        else:
            assert response.status_code == 201, response.content
            documents.append((hostile, SourceDocument.objects.get(pk=response.json()["id"])))
    good = [
        upload(editor_client, "A good PDF", make_pdf([GOOD_SENTENCE])),
        upload(editor_client, "A good DOCX", make_docx(paragraph(f"<w:t>{GOOD_SENTENCE}</w:t>"))),
    ]

    # One worker child takes them in turn: when the last good one is done, all are.
    assert wait_for(lambda: status_of(good[-1]) in ("done", "failed"), 600, 0.5), (
        worker.log.read_text()[-5000:]
    )
    log = worker.log.read_text()
    durations = re.findall(r"process_document\[[^\]]+\] succeeded in ([\d.]+)s", log)
    for (hostile, document), seconds in zip(documents, durations, strict=False):
        document.refresh_from_db()
        print(f"{hostile.name}: {document.status} in {float(seconds):.2f} s: {document.error}")
    for pid in pool:
        resident, mapped = status_line(pid, "VmHWM"), status_line(pid, "VmPeak")
        print(f"worker child at its peak: {resident} resident, {mapped} of address space")

    for hostile, document in documents:
        document.refresh_from_db()
        expected = ProcessingStatus.DONE if hostile.read_as else ProcessingStatus.FAILED
        assert document.status == expected, (hostile.name, document.error)
        check_outcome(hostile, document.text, document.media_type, document.error)
        assert SECRET not in document.title
        if hostile.read_as is None:
            assert not Mention.objects.filter(document=document).exists()
        if hostile.read_as == TEXT:
            assert document.file.name.endswith(".txt")  # stored as text, not as markup
    for document in good:
        document.refresh_from_db()
        assert document.status == ProcessingStatus.DONE, document.error
        assert GOOD_SENTENCE in document.text
        assert Mention.objects.filter(document=document).count() >= 3  # Huawei, Kenya...

    # The same worker and pool child did it all: none was killed, or replaced for memory
    # (CELERY_WORKER_MAX_MEMORY_PER_CHILD).
    assert worker.alive()
    assert children(worker.process.pid) == pool
    for sign in ("MemoryError", "WorkerLostError", "exited prematurely", "Traceback", "Killed"):
        assert sign not in log, log[-5000:]
    assert traps.requests == []
