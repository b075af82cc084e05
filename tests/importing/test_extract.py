"""Extraction turns real files of every accepted format into normalised text, and refuses
everything else (wrong format, damage, encryption, limits) with a message naming the cause.

Every fixture is built here from code: no binary files are committed.
"""

import io
import random
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
from fpdf import FPDF

from projects.importing.extract import (
    ACCEPTED_FORMATS,
    DOCX,
    HTML,
    MARKDOWN,
    MB,
    PDF,
    TEXT,
    ExtractionError,
    LimitExceeded,
    Limits,
    UnsupportedFormat,
    describe,
    extract,
    normalise,
    sniff,
)

PAGES = [
    "Huawei Marine laid the PEACE cable along the coast of Kenya in 2021.\n"
    "The landing station in Mombasa connects East Africa to Pakistan.",
    "The second phase extended the infra-\nstructure to Djibouti and Egypt.\n"
    "Local operators buy capacity on the system.",
    "Page three closes the report with the financing by the China Development Bank.",
]
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"


def limits(**overrides) -> Limits:
    values = {
        "max_bytes": 50 * MB,
        "max_pages": 100,
        "max_characters": 1_000_000,
        "max_uncompressed_bytes": 10 * MB,
    }
    return Limits(**(values | overrides))


def read(data: bytes, **overrides):
    return extract(data, limits=limits(**overrides))


def refused(data: bytes, error=ExtractionError, **overrides) -> str:
    with pytest.raises(error) as caught:
        read(data, **overrides)
    return str(caught.value)


def make_pdf(pages=PAGES, *, title="PEACE Cable Progress Report", **encryption) -> bytes:
    pdf = FPDF()
    pdf.set_title(title)
    if encryption:
        pdf.set_encryption(**encryption)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
CORE = (
    '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
    'openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
    "</cp:coreProperties>"
)


def paragraph(*runs: str) -> str:
    # A tab stop in the paragraph properties must not turn into a tab in the text.
    properties = '<w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
    return f"<w:p>{properties}{''.join(f'<w:r>{run}</w:r>' for run in runs)}</w:p>"


def cell(*paragraphs: str) -> str:
    return f"<w:tc>{''.join(paragraph(f'<w:t>{text}</w:t>') for text in paragraphs)}</w:tc>"


DOCX_BODY = (
    paragraph("<w:t>Safe City Islamabad</w:t>")
    + paragraph('<w:t xml:space="preserve">Huawei installed </w:t>', "<w:t>1,800 cameras.</w:t>")
    + paragraph("<w:t>Name</w:t><w:tab/><w:t>Value</w:t>", "<w:br/><w:t>Next line</w:t>")
    + "<w:tbl>"
    + f"<w:tr>{cell('Contractor')}{cell('Amount')}</w:tr>"
    + f"<w:tr>{cell('Huawei', 'Technologies')}{cell('USD 124 million')}</w:tr>"
    + "</w:tbl>"
    + paragraph("<w:t>The project opened in 2016.</w:t>")
)


def make_docx(
    body: str = DOCX_BODY, *, title: str | None = "Safe City Report", doctype: str = ""
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
            f'<w:document xmlns:w="{W}"><w:body>{body}<w:sectPr/></w:body></w:document>',
        )
        if title is not None:
            archive.writestr("docProps/core.xml", CORE.format(title=title))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A DOCX whose document.xml claims and holds 300 MB of spaces in about 1 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as member:
            chunk = b" " * MB
            for _ in range(300):
                member.write(chunk)
    return buffer.getvalue()


ARTICLE_PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Konza data centre opens | Tech News</title>
<meta property="og:title" content="Konza National Data Centre opens">
<style>body { color: red }</style>
<script>var tracking = "TRACKINGSCRIPT";</script>
</head><body>
<header><a href="/">SITEHEADER home</a></header>
<nav><ul><li>NAVLINK one</li><li>NAVLINK two</li></ul></nav>
<div class="cookie-banner">We use COOKIENOTICE cookies.</div>
<div id="sidebar-right">SIDEBARTEXT</div>
<div class="load-more">Loading content</div>
<article>
  <h1>Konza National Data Centre opens</h1>
  <p>The centre was built by <b>Huawei</b> with a
     concessional loan from China.</p>
  <p>It hosts government services&nbsp;and a smart city platform.</p>
  <ul><li>Tier III design</li><li>Cloud services</li></ul>
  <table><tr><th>Phase</th><th>Cost</th></tr><tr><td>One</td><td>USD 172 million</td></tr>
  </table>
  <div class="share-buttons">SHARETHIS on social media</div>
  <blockquote>A milestone for Kenya.</blockquote>
  <section class="comments">COMMENTTEXT from a reader</section>
</article>
<aside>ASIDETEXT</aside>
<footer>FOOTERTEXT copyright</footer>
<script>console.log("MORESCRIPT")</script>
</body></html>
"""

MARKDOWN_DOCUMENT = """# Pakistan–China Fiber Optic Project

The **820 km** cable links [Rawalpindi](https://example.org/rawalpindi) to the
*Khunjerab Pass*. ![Map](map.png)

## Timeline

- Construction began in 2016
- Commercial operation in 2018

```
code stays as_is **here**
```

Use `<br>` tags sparingly; <span>inline HTML</span> is removed.
"""


# Recognising formats ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (make_pdf(), PDF),
        (b"junk before the header\n%PDF-1.7\n" + b"x" * 100, PDF),
        (make_docx(), DOCX),
        (b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", HTML),
        (b"\xef\xbb\xbf  <!-- generated -->\n<html><p>Hi</p></html>", HTML),
        (b"<body>\n<p>Plain body</p>", HTML),
        (b"<div><p>One</p><p>Two</p><p>Three</p></div>", HTML),
        (b"Report on the cable.\n\nIt uses <br> once.\n", TEXT),
        (b"# Title\n\nSome text with a <br> tag.\n\n- item one\n- item two\n", MARKDOWN),
        (MARKDOWN_DOCUMENT.encode(), MARKDOWN),
        (b"The cable was completed in 2018 and links two countries.\n", TEXT),
        (PNG_HEADER + bytes(200), None),
        (b"Some text\x00with a NUL byte", None),
        (bytes(range(256)) * 8, None),
        (b"", None),
    ],
)
def test_sniff_decides_by_content(data, media_type):
    assert sniff(data) == media_type


def test_zip_that_is_not_a_docx_is_not_accepted():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert sniff(buffer.getvalue()) is None
    assert describe(buffer.getvalue()) == "a ZIP archive"


@pytest.mark.parametrize(
    ("data", "description"),
    [
        (PNG_HEADER, "a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"", "an empty file"),
        (b"  \n\t ", "an empty file"),
        (bytes(range(256)) * 4, "binary data"),
        (make_pdf(), "a PDF document"),
    ],
)
def test_describe_guesses_what_refused_content_is(data, description):
    assert describe(data) == description


def test_unsupported_format_names_the_content_and_the_accepted_formats():
    message = refused(PNG_HEADER + bytes(100), UnsupportedFormat)
    assert message == (
        "This file is not in a format that can be imported (a PNG image). "
        f"Accepted formats: {ACCEPTED_FORMATS}."
    )


def test_random_bytes_are_refused_as_binary_data():
    message = refused(random.Random(7).randbytes(4096), UnsupportedFormat)
    assert "(binary data)" in message


@pytest.mark.parametrize("data", [b"", b" \r\n\t "])
def test_empty_file_is_refused(data):
    assert refused(data) == "The file is empty."


# PDF -------------------------------------------------------------------------------------


def test_pdf_text_page_offsets_and_title():
    extracted = read(make_pdf())
    assert extracted.media_type == PDF
    assert extracted.title == "PEACE Cable Progress Report"
    assert extracted.page_count == 3
    assert len(extracted.page_starts) == 3
    first_words = ["Huawei Marine laid", "The second phase", "Page three closes"]
    for start, words in zip(extracted.page_starts, first_words, strict=True):
        assert extracted.text[start:].startswith(words)
    assert "landing station in Mombasa" in extracted.text
    assert "\n\nThe second phase" in extracted.text


def test_pdf_joins_words_hyphenated_at_line_ends_only_before_lowercase():
    text = read(make_pdf(["The infra-\nstructure of Huawei-\nZTE and 2019-\n2020."])).text
    assert "infrastructure" in text
    assert "Huawei-\nZTE" in text
    assert "2019-\n2020" in text


def test_pdf_progress_is_reported_page_by_page():
    fractions = []
    extract(make_pdf(), limits=limits(), progress=fractions.append)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert pytest.approx(1 / 3) in fractions
    assert fractions == sorted(fractions)


def test_pdf_title_that_is_a_file_name_is_ignored():
    assert read(make_pdf(title="scan_0042 final.pdf")).title == ""
    assert read(make_pdf(title="Untitled")).title == ""


def test_pdf_locked_only_against_editing_is_read():
    data = make_pdf(["Owner locked report on Gwadar."], owner_password="owner")
    assert read(data).text == "Owner locked report on Gwadar."


def test_pdf_with_a_password_is_refused():
    data = make_pdf(owner_password="owner", user_password="secret")
    assert refused(data) == (
        "The PDF is encrypted with a password; remove the protection and import it again."
    )


def test_pdf_without_a_text_layer_is_refused():
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    message = refused(bytes(pdf.output()))
    assert "no text layer" in message
    assert "(OCR) is not supported" in message


def test_truncated_pdf_is_refused_as_damaged():
    data = make_pdf()
    assert "damaged or truncated" in refused(data[: len(data) // 2])


def test_pdf_with_a_garbage_body_is_refused_as_damaged():
    data = b"%PDF-1.4\n" + random.Random(3).randbytes(5000) + b"\n%%EOF\n"
    assert "damaged or truncated" in refused(data)


def test_pdf_with_too_many_pages_is_refused():
    message = refused(make_pdf(["page"] * 4), LimitExceeded, max_pages=3)
    assert message == ("The PDF has 4 pages, more than the 3 pages allowed (DSR_IMPORT_MAX_PAGES).")


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF of `objects`, numbered from 1 (the catalog), with a correct cross-reference
    table: for structures that no PDF library writes."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<</Size %d/Root 1 0 R>>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def pdf_stream(content: bytes, entries: bytes = b"") -> bytes:
    return b"<</Length %d%s>>\nstream\n%s\nendstream" % (len(content), entries, content)


PAGE_CONTENT = b"BT /F1 12 Tf 72 720 Td (Kenya) Tj ET"


def pdf_page_tree(kids: bytes, count: int, content: bytes = PAGE_CONTENT) -> list[bytes]:
    """Objects 1-5 of a PDF: catalog, page tree (its /Kids and /Count given), page 3 with
    content stream 4 and font 5."""
    return [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Count %d/Kids[%s]>>" % (count, kids),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        pdf_stream(content),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]


def test_pdf_declaring_too_many_pages_is_refused_before_its_page_tree_is_walked():
    data = raw_pdf(*pdf_page_tree(b"3 0 R", count=10_000_000))
    assert refused(data, LimitExceeded, max_pages=2000) == (
        "The PDF has 10,000,000 pages, more than the 2,000 pages allowed (DSR_IMPORT_MAX_PAGES)."
    )
    assert read(raw_pdf(*pdf_page_tree(b"3 0 R", count=1))).text == "Kenya"


def test_pdf_whose_page_tree_lists_a_page_a_million_times_is_refused():
    # The root lists node 6 a thousand times, which lists page 3 a thousand times; the root
    # claims one page. Walking the tree stops soon after the pages allowed.
    objects = pdf_page_tree(b" ".join([b"6 0 R"] * 1000), count=1)
    pages = b" ".join([b"3 0 R"] * 1000)
    objects.append(b"<</Type/Pages/Parent 2 0 R/Count 1000/Kids[%s]>>" % pages)
    tracemalloc.start()
    try:
        message = refused(raw_pdf(*objects), LimitExceeded, max_pages=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (
        "The PDF has more than 100 pages, or a page tree too complex to read safely, so it was "
        "not read (DSR_IMPORT_MAX_PAGES)."
    )
    assert peak < 20 * MB


def test_pdf_of_as_many_pages_as_allowed_in_any_page_tree_is_read():
    # Each page under its own intermediate node: as many nodes as pages.
    objects = pdf_page_tree(b" ".join(b"%d 0 R" % (6 + n) for n in range(100)), count=100)
    objects += [b"<</Type/Pages/Parent 2 0 R/Count 1/Kids[3 0 R]>>"] * 100
    assert read(raw_pdf(*objects), max_pages=100).page_count == 100


def test_pdf_page_that_inflates_to_a_gigabyte_is_refused_as_too_complex():
    compressor = zlib.compressobj(9)
    zeros = bytes(MB)
    bomb = b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()
    objects = pdf_page_tree(b"3 0 R", count=1)
    objects[3] = pdf_stream(bomb, b"/Filter/FlateDecode")
    message = refused(raw_pdf(*objects), LimitExceeded)
    assert message.startswith("Page 1 of the PDF is too large or too complex to read safely")


# DOCX ------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_rows_in_document_order():
    extracted = read(make_docx())
    assert extracted.media_type == DOCX
    assert extracted.title == "Safe City Report"
    assert extracted.text == (
        "Safe City Islamabad\n\n"
        "Huawei installed 1,800 cameras.\n\n"
        "Name\tValue\nNext line\n\n"
        "Contractor | Amount\n\n"
        "Huawei Technologies | USD 124 million\n\n"
        "The project opened in 2016."
    )


def test_docx_without_core_properties_has_no_title():
    assert read(make_docx(title=None)).title == ""


def test_docx_zip_bomb_is_refused_before_unpacking(docx_bomb):
    started = time.monotonic()
    message = refused(docx_bomb, LimitExceeded, max_uncompressed_bytes=10 * MB)
    assert message == (
        "The DOCX file would unpack to 300 MB, more than the 10 MB allowed "
        "(DSR_IMPORT_MAX_UNCOMPRESSED_BYTES)."
    )
    assert time.monotonic() - started < 1


def test_docx_whose_header_understates_a_size_is_refused_as_damaged():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * (20 * MB))
    data = bytearray(buffer.getvalue())
    central_entry = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central_entry + 24, 1000)  # the uncompressed size
    assert "damaged" in refused(bytes(data), max_uncompressed_bytes=100 * MB)


def test_docx_member_compressed_too_densely_is_refused():
    spaces = " " * (2 * MB)
    data = make_docx(paragraph(f'<w:t xml:space="preserve">a{spaces}b</w:t>'))
    message = refused(data, LimitExceeded, max_uncompressed_bytes=100 * MB)
    assert "compressed more than 100 to 1" in message
    assert "(DSR_IMPORT_MAX_UNCOMPRESSED_BYTES)" in message


def test_docx_member_whose_header_understates_its_size_is_not_inflated_beyond_it():
    # 300 MB of spaces whose headers claim 1,000 bytes: reading stops at 1,000 (and finds
    # the checksum wrong) instead of inflating up to the limit first.
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("word/document.xml", "w") as member,
    ):
        for _ in range(300):
            member.write(b" " * MB)
    data = bytearray(buffer.getvalue())
    struct.pack_into("<I", data, 22, 1000)  # the local header's uncompressed size
    struct.pack_into("<I", data, data.rindex(b"PK\x01\x02") + 24, 1000)  # the central one
    tracemalloc.start()
    try:
        message = refused(bytes(data), max_uncompressed_bytes=200 * MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "damaged" in message
    assert peak < 20 * MB


def test_zip_listing_too_many_members_is_refused_without_listing_them():
    member = b"word/document.xml"
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(member), 0)
    central = struct.pack(
        "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(member), 0, 0, 0, 0, 0, 0
    )
    count = 10_001
    directory = (central + member) * count
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(local + member), 0
    )
    data = local + member + directory + end
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == count  # a valid archive
    assert sniff(data) == DOCX
    assert refused(data, LimitExceeded) == (
        "The DOCX file holds more than 10,000 parts, more than any document has, so it was "
        "not unpacked."
    )


MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def test_docx_containers_text_boxes_and_nested_tables_are_read_in_document_order():
    def sdt(content: str) -> str:
        return f"<w:sdt><w:sdtPr><w:alias/></w:sdtPr><w:sdtContent>{content}</w:sdtContent></w:sdt>"

    text_box = (
        f'<w:r><mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="wps">'
        "<w:drawing><w:txbxContent>"
        + paragraph("<w:t>In the box</w:t>")
        + "</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>"
        + paragraph("<w:t>BOXFALLBACK</w:t>")
        + "</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    nested = f"<w:tbl><w:tr>{cell('Inner A')}{cell('Inner B')}</w:tr></w:tbl>"
    body = (
        paragraph("<w:t>First</w:t>")
        + sdt(paragraph("<w:t>In a control</w:t>") + sdt(paragraph("<w:t>Deeper</w:t>")))
        + f"<w:p><w:r><w:t>Before </w:t></w:r>{text_box}<w:r><w:t> after</w:t></w:r></w:p>"
        + f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w14">'
        + paragraph("<w:t>Chosen</w:t>")
        + "</mc:Choice><mc:Fallback>"
        + paragraph("<w:t>BODYFALLBACK</w:t>")
        + "</mc:Fallback></mc:AlternateContent>"
        + "<w:tbl><w:tblPr/>"
        + f"<w:tr>{cell('Row one')}<w:tc>{nested}</w:tc></w:tr>"
        + sdt(f"<w:tr>{cell('SDTROW')}</w:tr>")
        + f"<w:tr>{cell('Row two')}</w:tr></w:tbl>"
        + f"<w:customXml>{paragraph('<w:t>Last</w:t>')}</w:customXml>"
    )
    text = read(make_docx(body)).text
    assert text == (
        "First\n\nIn a control\n\nDeeper\n\nBefore In the box after\n\nChosen\n\n"
        "Row one | Inner A | Inner B\n\nRow two\n\nLast"
    )


def test_docx_is_read_as_a_stream_so_a_long_document_is_not_held_at_once():
    # More elements than _MAX_HELD_ELEMENTS (200,000) in all, a few in each paragraph.
    body = "".join(paragraph(f"<w:t>Paragraph {number}</w:t>") for number in range(60_000))
    text = read(make_docx(body), max_characters=5_000_000).text
    assert text.count("Paragraph") == 60_000
    assert text.endswith("Paragraph 59999")


def test_docx_paragraph_of_too_many_elements_is_refused():
    runs = "".join(f"<w:r><w:t>{number}</w:t></w:r>" for number in range(100_001))
    message = refused(make_docx(f"<w:p>{runs}</w:p>"), LimitExceeded)
    assert message == (
        "The DOCX file has a paragraph, table row or other part of more than 200,000 XML "
        "elements, too complex to read safely (files built to exhaust a server look like "
        "this), so it was not read."
    )


def test_docx_with_broken_xml_is_refused_as_damaged():
    message = refused(make_docx("<w:p><w:r><w:t>unclosed</w:r></w:p>"))
    assert message == "The DOCX file is damaged: its text is not valid XML."


def test_truncated_docx_is_refused_as_damaged():
    data = make_docx()
    truncated = data[: len(data) * 2 // 3]
    assert sniff(truncated) == DOCX
    assert "damaged" in refused(truncated)


DOCX_DTD_REFUSED = (
    "The DOCX file declares XML entities (a DTD), which Word documents never do and which are "
    "used to attack servers (entity expansion, reading local files), so it was not read."
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_docx_declaring_entities_is_refused(encoding):
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f'<w:document xmlns:w="{W}"><w:body>{paragraph("<w:t>before &xxe; after</w:t>")}'
        "</w:body></w:document>"
    ).encode(encoding)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", document)
    assert refused(buffer.getvalue()) == DOCX_DTD_REFUSED


def test_docx_whose_properties_declare_entities_is_refused():
    buffer = io.BytesIO(make_docx(title=None))
    core = CORE.format(title="&lol;").replace(
        "<cp:coreProperties", '<!DOCTYPE c [<!ENTITY lol "lol">]><cp:coreProperties'
    )
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("docProps/core.xml", core)
    assert refused(buffer.getvalue()) == DOCX_DTD_REFUSED


# HTML ------------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_the_boilerplate():
    extracted = read(ARTICLE_PAGE.encode())
    text = extracted.text
    assert extracted.media_type == HTML
    assert extracted.title == "Konza National Data Centre opens"
    assert "The centre was built by Huawei with a concessional loan from China." in text
    assert "It hosts government services and a smart city platform." in text
    assert "\n\nTier III design\n\nCloud services\n\n" in text
    assert "Phase | Cost\n\nOne | USD 172 million" in text
    assert "A milestone for Kenya." in text
    for boilerplate in [
        "TRACKINGSCRIPT",
        "MORESCRIPT",
        "color: red",
        "SITEHEADER",
        "NAVLINK",
        "COOKIENOTICE",
        "SIDEBARTEXT",
        "SHARETHIS",
        "COMMENTTEXT",
        "ASIDETEXT",
        "FOOTERTEXT",
    ]:
        assert boilerplate not in text


def test_html_without_article_uses_the_body_and_keeps_unrelated_class_words():
    page = (
        "<html><head><title>Gwadar port</title></head><body>"
        '<div class="load-more headline">Gwadar port expansion</div>'
        '<div class="nav-menu">MENUTEXT</div><p>Second<br>line</p></body></html>'
    )
    extracted = read(page.encode())
    assert extracted.title == "Gwadar port"
    assert extracted.text == "Gwadar port expansion\n\nSecond\nline"


def test_html_head_is_not_text():
    page = b"<html><head><title>Only a title</title><meta name=x></head></html>"
    assert refused(page) == "The HTML page has no readable text."


def test_html_with_only_scripts_has_no_readable_text():
    page = b"<html><head><script>var a = 1;</script></head><body><script>go()</script></body>"
    assert refused(page) == "The HTML page has no readable text."


def test_html_declared_charset_is_honoured():
    page = '<html><head><meta charset="windows-1251"></head><body><p>Цифровой шёлковый путь</p>'
    assert read(page.encode("cp1251")).text == "Цифровой шёлковый путь"


# Plain text and Markdown -----------------------------------------------------------------

RUSSIAN = "Цифровой шёлковый путь — инициатива Китая по строительству линий связи."
CHINESE = "数字丝绸之路是中国的一项倡议，旨在建设光纤通信线路和数据中心。"
FRENCH = "Le câble « PEACE » relie la côte à Marseille ; c’était très “attendu”, déjà."


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (FRENCH, "utf-8"),
        (FRENCH, "utf-8-sig"),
        (FRENCH, "utf-16"),
        ("Le café était très “bon”, über alles. Il a dit « non » à la fenêtre.", "cp1252"),
        ("A nação está em situação difícil; ações e informações são necessárias.", "cp1252"),
        (RUSSIAN + " " + RUSSIAN, "cp1251"),
        (CHINESE + CHINESE, "gb18030"),
        ("デジタルシルクロードは中国の構想で、光ファイバー通信網を建設します。", "shift_jis"),
    ],
)
def test_text_in_any_common_encoding_is_decoded(text, encoding):
    extracted = read(text.encode(encoding))
    assert extracted.media_type == TEXT
    assert extracted.text == text


def test_markdown_syntax_is_stripped():
    extracted = read(MARKDOWN_DOCUMENT.encode())
    assert extracted.media_type == MARKDOWN
    assert extracted.title == "Pakistan–China Fiber Optic Project"
    assert extracted.text == (
        "Pakistan–China Fiber Optic Project\n\n"
        "The 820 km cable links Rawalpindi to the\nKhunjerab Pass.\n\n"
        "Timeline\n\n"
        "Construction began in 2016\nCommercial operation in 2018\n\n"
        "code stays as_is **here**\n\n"
        "Use <br> tags sparingly; inline HTML is removed."
    )


def test_text_is_normalised():
    data = (
        "  Title\r\nline one\u00a0with\u2003spaces   \r\n\r\n\r\n\r\nnext\x07 para\x00graph"
        "\rlast\u3000line \n\n"
    ).encode()
    # A NUL byte makes a file binary; the same characters from a decoder are dropped.
    assert sniff(data) is None
    assert normalise(data.decode()) == ("Title\nline one with spaces\n\nnext paragraph\nlast line")
    assert normalise("e\u0301") == "é"


# Limits ----------------------------------------------------------------------------------


def test_file_over_the_size_limit_is_refused():
    message = refused(b"a" * (MB + 1), LimitExceeded, max_bytes=MB)
    assert message == "The file is larger than 1 MB (DSR_IMPORT_MAX_UPLOAD_BYTES)."


@pytest.mark.parametrize(
    "data", [make_pdf(), make_docx(), ARTICLE_PAGE.encode(), b"Twenty-six characters long."]
)
def test_text_over_the_character_limit_is_refused(data):
    message = refused(data, LimitExceeded, max_characters=20)
    assert message == (
        "The text of the file is longer than 20 characters (DSR_IMPORT_MAX_CHARACTERS)."
    )


@pytest.mark.parametrize("data", [make_pdf(), make_docx(), ARTICLE_PAGE.encode(), b"Text."])
def test_extraction_stops_after_the_deadline(data):
    message = refused(data, LimitExceeded, deadline=time.monotonic() - 1)
    assert "DSR_IMPORT_TIME_LIMIT" in message


def test_limits_come_from_settings(settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    settings.IMPORT_MAX_PAGES = 5
    settings.IMPORT_MAX_CHARACTERS = 3000
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 4000
    settings.IMPORT_TIME_LIMIT = 60
    configured = Limits.from_settings()
    assert (configured.max_bytes, configured.max_pages) == (1000, 5)
    assert (configured.max_characters, configured.max_uncompressed_bytes) == (3000, 4000)
    assert 55 < configured.deadline - time.monotonic() <= 60
    assert Limits.from_settings(seconds=5).deadline - time.monotonic() <= 5


def test_html_of_millions_of_tiny_elements_is_refused_before_parsing():
    """48 MB of "<p>a" took 3.5 GB parsed; the tags are counted first."""
    page = b"<html><body>" + b"<p>a" * 600_000 + b"</body></html>"
    tracemalloc.start()
    try:
        message = refused(page, LimitExceeded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "more than 500,000 tags" in message
    assert peak < 20 * MB, f"{peak / MB:.0f} MB"
    assert read(b"<html><body>" + b"<p>a</p>" * 100_000 + b"</body></html>").text
