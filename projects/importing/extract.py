"""Turn the bytes of an uploaded file into normalised plain text.

The format is decided by the content, never by a file name. Every problem with the content
is raised as an ExtractionError whose message an editor can act on, and every limit that is
hit names the setting that controls it.
"""

from __future__ import annotations

import codecs
import io
import re
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import charset_normalizer
import lxml.etree
import lxml.html
from django.conf import settings
from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, LimitReachedError

PDF = "application/pdf"
HTML = "text/html"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain"
MARKDOWN = "text/markdown"

ACCEPTED_FORMATS = "PDF, HTML, DOCX, plain text and Markdown"

MB = 1024 * 1024


class ExtractionError(Exception):
    """A file that cannot be imported; str(error) is a clear sentence for an editor."""


class UnsupportedFormat(ExtractionError):
    pass


class LimitExceeded(ExtractionError):
    pass


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pages: int
    max_characters: int
    max_uncompressed_bytes: int
    deadline: float | None = None  # a time.monotonic() value after which extraction stops

    @classmethod
    def from_settings(cls, *, seconds: float | None = None) -> Limits:
        """The configured limits, with a deadline `seconds` from now (IMPORT_TIME_LIMIT)."""
        budget = settings.IMPORT_TIME_LIMIT if seconds is None else seconds
        return cls(
            max_bytes=settings.IMPORT_MAX_UPLOAD_BYTES,
            max_pages=settings.IMPORT_MAX_PAGES,
            max_characters=settings.IMPORT_MAX_CHARACTERS,
            max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
            deadline=time.monotonic() + budget,
        )

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise LimitExceeded(
                "Reading the file took longer than the import time limit, so it was stopped "
                "(DSR_IMPORT_TIME_LIMIT)."
            )

    def check_length(self, length: int) -> None:
        if length > self.max_characters:
            raise LimitExceeded(
                f"The text of the file is longer than {self.max_characters:,} characters "
                "(DSR_IMPORT_MAX_CHARACTERS)."
            )


@dataclass
class Extracted:
    text: str
    media_type: str
    title: str = ""
    page_count: int | None = None
    page_starts: list[int] = field(default_factory=list)  # offset in text of each PDF page


Progress = Callable[[float], None]


def sniff(data: bytes) -> str | None:
    """The media type of `data`, decided by its content only, or None when not accepted."""
    return _classify(data)[0]


def extract(data: bytes, *, limits: Limits, progress: Progress | None = None) -> Extracted:
    """The normalised text of `data`; raises ExtractionError for anything that cannot be read."""
    report = progress or _ignore_progress
    if len(data) > limits.max_bytes:
        raise LimitExceeded(
            f"The file is larger than {format_size(limits.max_bytes)} "
            "(DSR_IMPORT_MAX_UPLOAD_BYTES)."
        )
    if not data.strip():
        raise ExtractionError("The file is empty.")
    limits.check_deadline()
    media_type, text = _classify(data)
    report(0.0)
    if media_type == PDF:
        extracted = _extract_pdf(data, limits, report)
    elif media_type == DOCX:
        extracted = _extract_docx(data, limits, report)
    elif media_type == HTML:
        extracted = _extract_html(data, limits, report)
    elif media_type is not None and text is not None:
        extracted = _extract_text(text, media_type, limits)
    else:
        raise UnsupportedFormat(
            f"This file is not in a format that can be imported ({describe(data)}). "
            f"Accepted formats: {ACCEPTED_FORMATS}."
        )
    report(1.0)
    return extracted


def describe(data: bytes) -> str:
    """A short human guess at what `data` is, for messages about refused files."""
    if not data.strip():
        return "an empty file"
    media_type = sniff(data)
    if media_type is not None:
        return _ACCEPTED_DESCRIPTIONS[media_type]
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _describe_zip(data)
    for signature, description in _SIGNATURES:
        if data.startswith(signature):
            return description
    if data.startswith(b"RIFF"):
        return _RIFF_KINDS.get(data[8:12], "a RIFF media file")
    if data[4:8] == b"ftyp":
        return "a HEIC image" if data[8:12] in (b"heic", b"heix", b"mif1") else "a video file"
    return "binary data"


def normalise(text: str) -> str:
    """NFC, "\\n" line ends, no control characters or exotic spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LINE_SEPARATORS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _UNICODE_SPACES.sub(" ", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


_LINE_SEPARATORS = re.compile(r"[\f\v\x85\u2028\u2029]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")
_UNICODE_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+$", re.MULTILINE)  # linear: starts a run only
_BLANK_LINES = re.compile(r"\n{3,}")


def _ignore_progress(fraction: float) -> None:
    pass


def format_size(count: int) -> str:
    for unit, name in ((MB, "MB"), (1024, "KB")):
        if count >= unit:
            return f"{count / unit:,.1f}".removesuffix(".0") + f" {name}"
    return f"{count} bytes"


# Recognising formats ---------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HTML_START = re.compile(
    r"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html\b|html\b|head\b|body\b)", re.S
)
_HTML_ROOT_TAG = re.compile(r"<(?:html|body)(?:\s[^<>]*)?>")
_HTML_COMMON_TAG = re.compile(
    r"</?(?:p|div|br|h[1-6]|ul|ol|li|table|tr|td|th|a|span|strong|em|b|i|img|section|article"
    r"|blockquote)\b[^<>]*>",
    re.I,
)
_HTML_BLOCK_TAG = re.compile(r"<(?:p|div|br)\b", re.I)
_MARKDOWN_STRONG = re.compile(
    r"^\s{0,3}(?:#{1,6}[ \t]+\S|```|~~~)|\[[^\[\]\n]+\]\([^()\s]+\)|\*\*[^\s*][^*\n]*\*\*"
    r"|__[^\s_][^_\n]*__"
)
_MARKDOWN_LIST = re.compile(r"^\s{0,3}[-*+]\s+\S")
# Characters that do not occur in real text: C0/C1 controls other than \t \n \f \r.
_BINARY_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _classify(data: bytes) -> tuple[str | None, str | None]:
    """The media type of `data` and, for plain text and Markdown, its decoded text."""
    if not data.strip():
        return None, None
    if b"%PDF-" in data[:1024]:
        return PDF, None
    if data.startswith(b"PK\x03\x04"):
        return (DOCX if _is_docx(data) else None), None
    head = _head_text(data)
    if head is not None and (_HTML_START.match(head) or _HTML_ROOT_TAG.search(head[:2048])):
        return HTML, None
    text = _decode_text(data)
    if text is None:
        return None, None
    if _looks_like_markdown(text):
        return MARKDOWN, text
    if _is_tag_rich(text[:2048]):
        return HTML, None
    return TEXT, text


def _is_docx(data: bytes) -> bool:
    names = _zip_names(data)
    if names is None:
        # A damaged archive still shows its member names in the local headers; calling it
        # DOCX lets extraction say that it is damaged rather than of an unknown format.
        return b"word/document.xml" in data
    return "word/document.xml" in names


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


# More members than any document has; zipfile builds an object for each member listed, so a
# 50 MB archive listing a million empty ones would take seconds and hundreds of megabytes.
_MAX_ZIP_MEMBERS = 10_000


def _lists_too_many_members(data: bytes) -> bool:
    """Whether `data` holds more central directory records than _MAX_ZIP_MEMBERS (counted
    by their signature: an upper bound, found in milliseconds)."""
    return data.count(b"PK\x01\x02") > _MAX_ZIP_MEMBERS


def _zip_names(data: bytes) -> list[str] | None:
    if _lists_too_many_members(data):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except _ZIP_ERRORS:
        return None


def _bom_codec(data: bytes) -> str | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def _head_text(data: bytes) -> str | None:
    """The start of `data`, lower-cased, good enough to look for tags; None if binary."""
    head = data[:4096]
    codec = _bom_codec(head)
    if codec is not None:
        text = head.decode(codec, errors="ignore")
    elif b"\x00" in head:
        return None
    else:
        text = head.decode("latin-1")
    return text.lstrip("\ufeff \t\r\n\f").lower()


def _decode_text(data: bytes) -> str | None:
    """`data` decoded as text, or None when it is not text."""
    codec = _bom_codec(data)
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            return None
    elif b"\x00" in data:
        return None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
            if text is None:
                return None
    binary = len(text) - len(_BINARY_CHARACTERS.sub("", text))
    if binary > len(text) / 100:
        return None
    sample = text[:20_000]
    unassigned = sum(1 for char in sample if unicodedata.category(char) in ("Cn", "Co", "Cs"))
    if unassigned > len(sample) / 100:
        return None
    return text


def _decode_legacy(data: bytes) -> str | None:
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    # charset_normalizer often ranks cp1250 first for Western European text, which turns
    # "è" into "č"; on a tie, the far commoner cp1252 is the better guess.
    for match in matches:
        if (
            match.encoding == "cp1252"
            and match.chaos <= best.chaos
            and match.coherence >= best.coherence
        ):
            best = match
            break
    return data.decode(best.encoding, errors="replace")


def _looks_like_markdown(text: str) -> bool:
    lines = [line for line in text[:100_000].splitlines() if line.strip()][:2000]
    strong = sum(1 for line in lines if _MARKDOWN_STRONG.search(line))
    listed = sum(1 for line in lines if _MARKDOWN_LIST.match(line))
    return strong >= 1 and strong + listed >= max(2, len(lines) / 20)


def _is_tag_rich(head: str) -> bool:
    return len(_HTML_COMMON_TAG.findall(head)) >= 5 and bool(_HTML_BLOCK_TAG.search(head))


_ACCEPTED_DESCRIPTIONS = {
    PDF: "a PDF document",
    HTML: "an HTML page",
    DOCX: "a Word document (DOCX)",
    TEXT: "plain text",
    MARKDOWN: "Markdown text",
}
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Microsoft Office file (DOC, XLS or PPT) or a password-protected Office file",
    ),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio or video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
)
_RIFF_KINDS = {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}


def _describe_zip(data: bytes) -> str:
    names = _zip_names(data) or []
    if any(name.startswith("xl/") for name in names):
        return "an Excel workbook (XLSX)"
    if any(name.startswith("ppt/") for name in names):
        return "a PowerPoint presentation (PPTX)"
    if "mimetype" in names:
        if b"application/epub+zip" in data[:100]:
            return "an EPUB e-book"
        if b"application/vnd.oasis.opendocument" in data[:200]:
            return "an OpenDocument file (ODT, ODS or ODP)"
    return "a ZIP archive"


# PDF -------------------------------------------------------------------------------------

_PDF_DAMAGED = "The PDF is damaged or truncated and cannot be read; export or download it again."
_PDF_ENCRYPTED = "The PDF is encrypted with a password; remove the protection and import it again."
# pypdf stops at its own limits (page tree entries, decompressed stream size...) on files
# built to exhaust memory or time; that is not damage, and the message says so.
_PDF_TOO_COMPLEX = (
    "The PDF is too large or too complex to read safely (files built to exhaust a server look "
    "like this), so it was not read."
)
_HYPHENATED = re.compile(r"(\w)-[ \t]*\n[ \t]*(\w)")
_FILE_NAME_TITLE = re.compile(
    r"^microsoft \w+ - |\.(?:pdf|docx?|rtf|odt|txt|html?|pptx?|xlsx?|indd|qxd|e?ps|tex|dvi)$"
    r"|^(?:[a-z]:\\|/)",
    re.I,
)
_PLACEHOLDER_TITLES = {"untitled", "untitled document", "no title", "title"}


def _extract_pdf(data: bytes, limits: Limits, report: Progress) -> Extracted:
    if b"%%EOF" not in data[-1024:]:
        raise ExtractionError(_PDF_DAMAGED)
    reader, page_count = _open_pdf(data, limits)
    _refuse_page_count(page_count, limits)
    page_texts = []
    length = 0
    for index in range(page_count):
        limits.check_deadline()
        page_text = normalise(_join_hyphenated(_page_text(reader, index)))
        page_texts.append(page_text)
        length += len(page_text)
        limits.check_length(length)  # stop early: the joined text is longer still
        report((index + 1) / page_count)
    text, page_starts = _join_pages(page_texts)
    limits.check_length(len(text))
    if not any(char.isalpha() for char in text):
        raise ExtractionError(
            "The PDF has no text layer (it is probably scanned); "
            "text recognition (OCR) is not supported."
        )
    return Extracted(
        text=text,
        media_type=PDF,
        title=_pdf_title(reader),
        page_count=page_count,
        page_starts=page_starts,
    )


def _refuse_page_count(page_count: int, limits: Limits) -> None:
    if page_count > limits.max_pages:
        raise LimitExceeded(
            f"The PDF has {page_count:,} pages, more than the {limits.max_pages:,} pages "
            "allowed (DSR_IMPORT_MAX_PAGES)."
        )


def _open_pdf(data: bytes, limits: Limits) -> tuple[PdfReader, int]:
    # pypdf reports malformed files with many exception types (its own, but also ValueError,
    # KeyError, TypeError, RecursionError...), so anything it raises means "damaged" — except
    # its limits, hit by files built to exhaust the server.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _unlock(reader):
            raise ExtractionError(_PDF_ENCRYPTED)
        # The count the page tree declares is refused before the tree is walked: a few
        # kilobytes can list a page a million times.
        _refuse_page_count(_declared_page_count(reader), limits)
        page_count = _walk_page_tree(reader, limits)
    except ExtractionError:
        raise
    except LimitReachedError as error:
        raise LimitExceeded(_PDF_TOO_COMPLEX) from error
    except Exception as error:
        raise ExtractionError(_PDF_DAMAGED) from error
    if page_count == 0:
        raise ExtractionError(_PDF_DAMAGED)
    return reader, page_count


def _walk_page_tree(reader: PdfReader, limits: Limits) -> int:
    """The number of pages, found by walking the page tree no further than the pages allowed
    (and as many intermediate nodes) call for: a tree whose /Count lies would otherwise be
    walked to pypdf's own limit, 100,000 entries, seconds and hundreds of megabytes."""
    try:
        with apply_configuration(page_tree_maximum_entries=2 * limits.max_pages + 100):
            return len(reader.pages)
    except LimitReachedError as error:
        raise LimitExceeded(
            f"The PDF has more than {limits.max_pages:,} pages, or a page tree too complex to "
            "read safely, so it was not read (DSR_IMPORT_MAX_PAGES)."
        ) from error


def _declared_page_count(reader: PdfReader) -> int:
    """The /Count of the root of the page tree, 0 when it has none that is a number."""
    try:
        count = reader.root_object["/Pages"]["/Count"]
    except Exception:  # see _open_pdf; walking the tree will tell what is wrong
        return 0
    return count if isinstance(count, int) else 0


def _unlock(reader: PdfReader) -> bool:
    """Open a PDF that is locked only against editing: its user password is empty."""
    try:
        return bool(reader.decrypt(""))
    except DependencyError as error:
        raise ExtractionError(
            "The PDF is encrypted with a method this server cannot read; remove the "
            "protection and import it again."
        ) from error
    except Exception:
        return False


def _page_text(reader: PdfReader, index: int) -> str:
    try:
        return reader.pages[index].extract_text() or ""
    except LimitReachedError as error:  # e.g. a content stream that inflates to gigabytes
        raise LimitExceeded(
            f"Page {index + 1} of the PDF is too large or too complex to read safely (files "
            "built to exhaust a server look like this), so it was not read."
        ) from error
    except Exception as error:  # see _open_pdf
        raise ExtractionError(
            f"The PDF is damaged: page {index + 1} cannot be read; export or download it again."
        ) from error


def _join_hyphenated(text: str) -> str:
    """Join words split at a line end ("infra-\\nstructure"), not "2019-\\n2020" or names."""

    def join(match: re.Match[str]) -> str:
        return match[1] + match[2] if match[2].islower() else match[0]

    return _HYPHENATED.sub(join, text)


def _join_pages(page_texts: list[str]) -> tuple[str, list[int]]:
    """The pages' texts separated by blank lines, and the offset where each page starts."""
    pieces: list[str] = []
    starts = []
    length = 0
    for page_text in page_texts:
        if pieces and page_text:
            length += 2
        starts.append(length)
        if page_text:
            pieces.append(page_text)
            length += len(page_text)
    return "\n\n".join(pieces), starts


def _pdf_title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        title = str(metadata.title or "") if metadata is not None else ""
    except Exception:  # see _open_pdf; a missing title is no reason to refuse the file
        return ""
    title = " ".join(title.split())
    if title.lower() in _PLACEHOLDER_TITLES or _FILE_NAME_TITLE.search(title):
        return ""
    return title


# HTML ------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-z0-9_.:-]+)", re.I)
# Labels that browsers read as a superset encoding (WHATWG Encoding Standard).
_SUPERSET_CODECS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}
_DROPPED_TAGS = {
    "head",
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "canvas",
    "form",
    "button",
    "nav",
    "header",
    "footer",
    "aside",
}
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary"}
_BOILERPLATE_WORDS = {
    "nav",
    "navbar",
    "navigation",
    "menu",
    "footer",
    "header",
    "masthead",
    "sidebar",
    "cookie",
    "consent",
    "banner",
    "breadcrumb",
    "share",
    "sharing",
    "social",
    "related",
    "advert",
    "advertisement",
    "ad",
    "comment",
    "subscribe",
    "newsletter",
}
_WORDS_IN_NAME = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "ul",
}


# Parsed HTML takes ~300 bytes per element; news pages have a few thousand. A page built of
# millions of tiny elements (48 MB of "<p>a": 3.5 GB parsed) is refused before parsing, by
# counting the tags' opening brackets (an upper bound on the elements).
_MAX_HTML_TAGS = 500_000


def _extract_html(data: bytes, limits: Limits, report: Progress) -> Extracted:
    if data.count(b"<") > _MAX_HTML_TAGS:
        raise LimitExceeded(
            f"The HTML page has more than {_MAX_HTML_TAGS:,} tags, more than any article, too "
            "many to read safely (files built to exhaust a server look like this), so it was "
            "not read."
        )
    text = _decode_html(data)
    limits.check_deadline()
    parser = lxml.html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        document = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except lxml.etree.ParserError as error:
        raise ExtractionError("The HTML page has no readable text.") from error
    except (lxml.etree.LxmlError, ValueError) as error:
        raise ExtractionError("The HTML page is damaged and cannot be read.") from error
    report(0.3)
    title = _html_title(document)
    _drop_boilerplate_elements(document)
    root = _content_root(document)
    _drop_boilerplate_by_name(root)
    limits.check_deadline()
    writer = _BlockWriter()
    _render(root, writer)
    writer.end_block()
    result = normalise("\n\n".join(writer.blocks))
    if not result:
        raise ExtractionError("The HTML page has no readable text.")
    limits.check_length(len(result))
    return Extracted(text=result, media_type=HTML, title=title)


def _decode_html(data: bytes) -> str:
    codec = _bom_codec(data)
    if codec is not None:
        return data.decode(codec, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    # Without a BOM, a page declaring UTF-16 is really UTF-8 (HTML standard).
    if declared is not None and not declared[1].lower().startswith(b"utf-16"):
        try:
            name = codecs.lookup(declared[1].decode("ascii")).name
            return data.decode(_SUPERSET_CODECS.get(name, name), errors="replace")
        except LookupError:  # an unknown label, or a codec such as base64 that is not text
            pass
    return _decode_text(data) or data.decode("utf-8", errors="replace")


def _html_title(document: lxml.html.HtmlElement) -> str:
    candidates = [
        *document.xpath("//meta[@property='og:title']/@content"),
        *(element.text_content() for element in document.iter("title")),
        *(element.text_content() for element in document.iter("h1")),
    ]
    for candidate in candidates:
        title = " ".join(str(candidate).split())
        if title:
            return title
    return ""


def _drop_boilerplate_elements(document: lxml.html.HtmlElement) -> None:
    """Drop scripts, styles, forms and navigation, told apart by tag or ARIA role."""
    for element in list(document.iter()):
        if not isinstance(element.tag, str) or element.tag in ("html", "body"):
            continue
        roles = set((element.get("role") or "").lower().split())
        if element.tag in _DROPPED_TAGS or roles & _BOILERPLATE_ROLES:
            # An article's own <header> holds its headline and byline: content, not chrome.
            if element.tag == "header" and _inside_article(element):
                continue
            element.drop_tree()


def _inside_article(element: lxml.html.HtmlElement) -> bool:
    return any(ancestor.tag in ("article", "main") for ancestor in element.iterancestors())


def _content_root(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    body = document.find("body")
    if body is None:
        body = document
    articles = document.xpath("//article")
    candidates = [
        *document.xpath("//main"),
        *(articles if len(articles) == 1 else []),
        *document.xpath("//*[@role='main']"),
    ]
    for candidate in candidates:
        if candidate.text_content().strip():
            return candidate
    return body


def _drop_boilerplate_by_name(root: lxml.html.HtmlElement) -> None:
    """Drop cookie banners, share buttons and the like, told apart by class or id words.

    Class names are unreliable, so an element holding most of the text is never dropped:
    `<div class="layout-with-sidebar">` may wrap the whole page.
    """
    total = len(root.text_content())
    for element in list(root.iterdescendants()):
        if not isinstance(element.tag, str) or element.getparent() is None:
            continue
        if not element.get("class") and not element.get("id"):
            continue
        if not _named_as_boilerplate(element):
            continue
        if "header" in _name_words(element) and _inside_article(element):
            continue
        if len(element.text_content()) * 2 <= total:
            element.drop_tree()


def _named_as_boilerplate(element: lxml.html.HtmlElement) -> bool:
    return any(
        word in _BOILERPLATE_WORDS or (word.endswith("s") and word[:-1] in _BOILERPLATE_WORDS)
        for word in _name_words(element)
    )


def _name_words(element: lxml.html.HtmlElement) -> set[str]:
    """The words of an element's class and id: "site-footer cookieBanner" → site footer..."""
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return {word.lower() for word in _WORDS_IN_NAME.findall(names)}


class _BlockWriter:
    """Collects rendered HTML as paragraphs: inline text joined, whitespace collapsed."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self._lines: list[list[str]] = [[]]  # <br> starts a new line

    def text(self, value: str | None) -> None:
        if value:
            self._lines[-1].append(value)

    def line_break(self) -> None:
        self._lines.append([])

    def end_block(self) -> None:
        if self._lines == [[]]:
            return
        lines = (" ".join("".join(parts).split()) for parts in self._lines)
        self.add("\n".join(line for line in lines if line))
        self._lines = [[]]

    def add(self, block: str) -> None:
        if block.strip():
            self.blocks.append(block)


def _render(element: lxml.html.HtmlElement, writer: _BlockWriter) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag == "br":
        writer.line_break()
    elif tag == "pre":
        writer.end_block()
        writer.add(element.text_content().strip("\n"))
    elif tag == "tr":
        writer.end_block()
        cells = (_inline_text(cell) for cell in element if cell.tag in ("td", "th"))
        writer.add(" | ".join(cell for cell in cells if cell))
    else:
        is_block = tag in _BLOCK_TAGS
        if is_block:
            writer.end_block()
        writer.text(element.text)
        for child in element:
            _render(child, writer)
            writer.text(child.tail)
        if is_block:
            writer.end_block()


def _inline_text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


# DOCX ------------------------------------------------------------------------------------

_DOCX_DAMAGED = "The DOCX file is damaged and cannot be unpacked; save or download it again."
_MARKUP_COMPATIBILITY = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_FALLBACK = f"{{{_MARKUP_COMPATIBILITY}}}Fallback"
_DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"
_DOCX_NOT_XML = "The DOCX file is damaged: its text is not valid XML."
_MAX_COMPRESSION_RATIO = 100
# Parsed XML takes many times its size in memory (about 17 for short paragraphs), so
# document.xml is read as a stream, each paragraph or table row dropped once read; this
# bounds what is held at once.
_MAX_HELD_ELEMENTS = 200_000
_MAX_CORE_BYTES = MB  # docProps/core.xml, a few hundred bytes in practice; only for the title
# Office Open XML packages never declare a DTD; one in a DOCX is there for entity expansion
# ("billion laughs") or external entities (reading files or URLs of the server).
_DTD_MARKERS = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
_DOCX_DTD = (
    "The DOCX file declares XML entities (a DTD), which Word documents never do and which are "
    "used to attack servers (entity expansion, reading local files), so it was not read."
)
_XML_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
}


def _extract_docx(data: bytes, limits: Limits, report: Progress) -> Extracted:
    if _lists_too_many_members(data):
        raise LimitExceeded(
            f"The DOCX file holds more than {_MAX_ZIP_MEMBERS:,} parts, more than any document "
            "has, so it was not unpacked."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as error:
        raise ExtractionError(_DOCX_DAMAGED) from error
    with archive:
        _refuse_zip_bomb(archive, limits)
        document = _read_member(archive, "word/document.xml", limits)
        names = archive.namelist()
        core = (
            _read_member(archive, "docProps/core.xml", limits)
            if "docProps/core.xml" in names
            and archive.getinfo("docProps/core.xml").file_size <= _MAX_CORE_BYTES
            else b""
        )
    report(0.3)
    limits.check_deadline()
    title = _docx_title(core)
    blocks = []
    length = 0  # of the blocks, not normalised
    check_at = limits.max_characters
    for block in _docx_stream_blocks(document, limits):
        block = block.strip()
        if block:
            blocks.append(block)
            length += len(block) + 2
        if length > check_at:  # stop early if the text is too long even once normalised
            blocks = [normalise("\n\n".join(blocks))]
            limits.check_length(len(blocks[0]))
            length = len(blocks[0])
            check_at = length + limits.max_characters
    text = normalise("\n\n".join(blocks))
    if not text:
        raise ExtractionError("The DOCX document has no text.")
    limits.check_length(len(text))
    return Extracted(text=text, media_type=DOCX, title=title)


def _docx_stream_blocks(content: bytes, limits: Limits) -> Iterator[str]:
    """The paragraphs and table rows of document.xml, in document order, as _docx_blocks
    finds them in the body; parsed as a stream, each dropped from memory once read."""
    _refuse_dtd_marker(content)
    events = lxml.etree.iterparse(io.BytesIO(content), events=("end",), **_XML_OPTIONS)
    root = body = None
    held = parsed = 0  # elements in memory; elements parsed
    try:
        for _, element in events:
            if root is None:
                root = element.getroottree().getroot()
                if element.getroottree().docinfo.doctype:
                    raise ExtractionError(_DOCX_DTD)
                w = lxml.etree.QName(root).namespace
                p, tbl, tr, body_tag = (f"{{{w}}}{name}" for name in ("p", "tbl", "tr", "body"))
                # The commonest elements: parts of paragraphs and rows, never blocks.
                inline = {f"{{{w}}}{name}" for name in ("r", "t", "rPr", "pPr", "tc", "tcPr")}
            held += 1
            parsed += 1
            if held > _MAX_HELD_ELEMENTS:
                raise LimitExceeded(
                    "The DOCX file has a paragraph, table row or other part of more than "
                    f"{_MAX_HELD_ELEMENTS:,} XML elements, too complex to read safely (files "
                    "built to exhaust a server look like this), so it was not read."
                )
            if parsed % 10_000 == 0:
                limits.check_deadline()
            tag = element.tag
            if tag in inline:
                continue
            if tag == _FALLBACK:
                # Text boxes are stored twice, as a drawing and as a fallback for old Word.
                held -= _drop(element)
            elif tag == p:
                if _in_body_outside_blocks(element, root, w):
                    yield _docx_paragraph(element, w)
                    held -= _drop(element)
            elif tag == tr:
                table = element.getparent()
                if table.tag == tbl and _in_body_outside_blocks(table, root, w):
                    yield _docx_table_row(element, w)  # a long table is read row by row
                    held -= _drop(element)
            elif tag == tbl:
                if _in_body_outside_blocks(element, root, w):
                    yield from _docx_table_rows(element, w)  # rows not read yet, if any
                    held -= _drop(element)
            elif (parent := element.getparent()) is None:
                pass
            elif tag == body_tag and parent is root:
                body = element
            elif parent.tag == body_tag and parent.getparent() is root:
                held -= _drop(element)  # a container whose blocks were read, or a setting
    except (lxml.etree.LxmlError, ValueError) as error:
        raise ExtractionError(_DOCX_NOT_XML) from error
    if body is None:
        raise ExtractionError("The DOCX file is damaged: it has no document body.")


def _in_body_outside_blocks(element, root, w: str | None) -> bool:
    """Whether `element` is in the document body, outside any paragraph, table or fallback."""
    for ancestor in element.iterancestors():
        if ancestor.tag in (f"{{{w}}}p", f"{{{w}}}tbl", _FALLBACK):
            return False
        if ancestor.getparent() is root:
            return ancestor.tag == f"{{{w}}}body"
    return False


def _drop(element: lxml.etree._Element) -> int:
    """Remove `element` from the tree being parsed; the number of elements it held."""
    count = sum(1 for _ in element.iter(lxml.etree.Element))
    element.getparent().remove(element)
    return count


def _refuse_dtd_marker(content: bytes) -> None:
    if any(marker in content for marker in _DTD_MARKERS):
        raise ExtractionError(_DOCX_DTD)


def _refuse_zip_bomb(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse archives that would unpack to too much, judged before unpacking anything."""
    members = archive.infolist()
    unpacked = sum(member.file_size for member in members)
    too_dense = any(
        member.file_size > MB
        and member.file_size > _MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if unpacked > limits.max_uncompressed_bytes:
        raise LimitExceeded(
            f"The DOCX file would unpack to {format_size(unpacked)}, more than the "
            f"{format_size(limits.max_uncompressed_bytes)} allowed "
            "(DSR_IMPORT_MAX_UNCOMPRESSED_BYTES)."
        )
    if too_dense:
        raise LimitExceeded(
            f"The DOCX file holds a part compressed more than {_MAX_COMPRESSION_RATIO} to 1, "
            "as archive bombs are, so it was not unpacked (DSR_IMPORT_MAX_UNCOMPRESSED_BYTES)."
        )


def _read_member(archive: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """A member's content, read no further than the limit whatever its header claims."""
    limit = limits.max_uncompressed_bytes
    content = io.BytesIO()
    try:
        with archive.open(name) as member:
            # In chunks: read(limit) would inflate `limit` bytes at once, whatever the header
            # says, before cutting them to the size it declares.
            while content.tell() <= limit and (chunk := member.read(MB)):
                content.write(chunk)
    except KeyError as error:
        raise ExtractionError(f"The DOCX file is damaged: it has no {name}.") from error
    except _ZIP_ERRORS as error:
        raise ExtractionError(_DOCX_DAMAGED) from error
    if content.tell() > limit:
        raise LimitExceeded(
            f"The DOCX file unpacks to more than {format_size(limit)} "
            "(DSR_IMPORT_MAX_UNCOMPRESSED_BYTES)."
        )
    return content.getvalue()


def _parse_xml(content: bytes) -> lxml.etree._Element | None:
    _refuse_dtd_marker(content)
    parser = lxml.etree.XMLParser(**_XML_OPTIONS)
    try:
        root = lxml.etree.fromstring(content, parser=parser)
    except (lxml.etree.LxmlError, ValueError):
        return None
    if root.getroottree().docinfo.doctype:
        raise ExtractionError(_DOCX_DTD)
    return root


def _docx_blocks(container: lxml.etree._Element, w: str) -> Iterator[str]:
    """The paragraphs and table rows under `container`, in document order."""
    for child in container:
        if child.tag == f"{{{w}}}p":
            yield _docx_paragraph(child, w)
        elif child.tag == f"{{{w}}}tbl":
            yield from _docx_table_rows(child, w)
        elif isinstance(child.tag, str):
            yield from _docx_blocks(child, w)  # content controls, tracked insertions...


def _docx_paragraph(paragraph: lxml.etree._Element, w: str) -> str:
    parts = []
    for node in paragraph.iter(f"{{{w}}}t", f"{{{w}}}tab", f"{{{w}}}br", f"{{{w}}}cr"):
        kind = lxml.etree.QName(node).localname
        if kind == "t":
            # Unexpanded entity references are children; the text around them is kept.
            parts.append(node.text or "")
            parts.extend(child.tail or "" for child in node)
        elif node.getparent().tag != f"{{{w}}}r":
            continue  # a tab stop or break setting in the paragraph's properties
        elif kind == "tab":
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _docx_table_rows(table: lxml.etree._Element, w: str) -> Iterator[str]:
    for row in table.iter(f"{{{w}}}tr"):
        if row.getparent() is not table:
            continue  # a nested table's row, rendered inside its cell
        yield _docx_table_row(row, w)


def _docx_table_row(row: lxml.etree._Element, w: str) -> str:
    cells = (
        " ".join(" ".join(block.split()) for block in _docx_blocks(cell, w))
        for cell in row.findall(f"{{{w}}}tc")
    )
    return " | ".join(cell.strip() for cell in cells if cell.strip())


def _docx_title(core: bytes) -> str:
    root = _parse_xml(core) if core else None
    title = root.find(f"{{{_DUBLIN_CORE}}}title") if root is not None else None
    return " ".join((title.text or "").split()) if title is not None else ""


# Plain text and Markdown -----------------------------------------------------------------


def _extract_text(text: str, media_type: str, limits: Limits) -> Extracted:
    title = ""
    if media_type == MARKDOWN:
        text, title = _markdown_to_text(text)
    result = normalise(text)
    if not result:
        raise ExtractionError("The file has no readable text.")
    limits.check_length(len(result))
    return Extracted(text=result, media_type=media_type, title=title)


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t])#+[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_TABLE_DIVIDER = re.compile(r"^\s*(?:\|\s*)?:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*(?:\|\s*)?$")
_QUOTE_MARKER = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET = re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?")
# Each inline pattern's content excludes its own delimiters, so that a long line full of
# unclosed brackets or stars costs linear time, not quadratic.
_CODE_SPAN = re.compile(r"(`+)([^`]+)\1(?!`)")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_INLINE_MARKUP = (
    (re.compile(r"!\[[^\[\]]*\](?:\([^()]*\)|\[[^\[\]]*\])"), ""),  # images
    (re.compile(r"\[([^\[\]]*)\]\([^()]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # [text][reference]
    (re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>"), r"\1"),  # <https://autolink>
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # HTML tags
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]+)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<![\w_])_(?=[^\s_])([^_]+)(?<=\S)_(?![\w_])"), r"\1"),  # _emphasis_
    (re.compile(r"\*\*(?=\S)([^*]+)(?<=\S)\*\*"), r"\1"),  # **strong**
    (re.compile(r"__(?=\S)([^_]+)(?<=\S)__"), r"\1"),  # __strong__
    (re.compile(r"~~(?=\S)([^~]+)(?<=\S)~~"), r"\1"),  # ~~strikethrough~~
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])"), r"\1"),  # backslash escapes
)


def _markdown_to_text(markdown: str) -> tuple[str, str]:
    """Markdown without its syntax, and its title (the first top-level heading)."""
    lines: list[str] = []
    headings: list[tuple[int, str]] = []
    fence = ""
    in_paragraph = False  # a following "===" or "---" underlines a heading
    for line in _HTML_COMMENT.sub("", markdown).splitlines():
        if fence:
            if line.strip().startswith(fence):
                fence = ""
            else:
                lines.append(line)
        elif match := _FENCE.match(line):
            fence = match[1]
        elif match := _ATX_HEADING.match(line):
            heading = _strip_inline(_CLOSING_HASHES.sub("", match[2] or "").strip())
            headings.append((len(match[1]), heading))
            lines.extend(["", heading, ""])
        elif in_paragraph and (match := _SETEXT_UNDERLINE.match(line)):
            level = 1 if match[1].startswith("=") else 2
            headings.append((level, lines[-1]))
            lines.append("")
        elif _RULE.match(line) or _TABLE_DIVIDER.match(line) or _LINK_DEFINITION.match(line):
            lines.append("")
        else:
            line = _BULLET.sub("", _QUOTE_MARKER.sub("", line)).strip()
            if line.startswith("|"):
                line = line.strip("|").strip()
            lines.append(_strip_inline(line))
            in_paragraph = bool(lines[-1])
            continue
        in_paragraph = False
    top = [text for level, text in headings if level == 1 and text]
    any_level = [text for _, text in headings if text]
    title = (top or any_level or [""])[0]
    return "\n".join(lines), title


def _strip_inline(line: str) -> str:
    """One line without inline Markdown; code spans keep their content untouched."""
    pieces = []
    position = 0
    for span in _CODE_SPAN.finditer(line):
        pieces.append(_strip_markup(line[position : span.start()]))
        pieces.append(span[2].strip())
        position = span.end()
    pieces.append(_strip_markup(line[position:]))
    return "".join(pieces)


def _strip_markup(text: str) -> str:
    for pattern, replacement in _INLINE_MARKUP:
        text = pattern.sub(replacement, text)
    return text
