"""What an uploaded file really is, judged by its bytes, and whether Textract can take it.

The extension and the Content-Type an uploader sends are never trusted: a ".pdf" can hold HTML from a login
page or a ZIP, and finding that out here costs nothing, while finding it out from Textract costs a job and a
failure that names the wrong cause. Every check reads a bounded amount of the file at a time (the head, the
tail, the structure of an image): a 500 MB upload is inspected without holding it in memory.

Limits are Textract's own "set quotas" for asynchronous operations: 500 MB and 3,000 pages for PDF and TIFF,
10 MB for JPEG and PNG, no password-protected PDFs, images of at most 10,000 pixels on every side, PDF pages of
at most 9,000 points a side (see MAX_PDF_PAGE_POINTS). AWS's "MB" is binary: the 10 MB limit on Document.Bytes
is documented as 10,485,760 bytes. Not checked, because only an OCR could: the minimum text height (15 pixels,
8-point type at 150 DPI), and PDF 1.6's /UserUnit page scaling, which PDFium ignores as well.

The structure of the three image formats is images.py's; what is checked here of a PDF is its header, its
trailer and, through PDFium, its page tree: nothing is rendered."""

from __future__ import annotations

import os
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from invoice_pipeline.domain.images import PNG_SIGNATURE, jpeg_dimensions, png_dimensions, tiff_pages
from invoice_pipeline.errors import (
    CorruptDocument,
    DocumentDimensionsTooLarge,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    TooManyPages,
    UnsupportedDocumentType,
)

__all__ = [
    "EINVOICE_ATTACHMENT_NAMES",
    "HEAD_BYTES",
    "JPEG",
    "MAX_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_PAGES",
    "MAX_PDF_PAGE_POINTS",
    "MAX_PDF_TRAILING_BYTES",
    "PDF",
    "PNG",
    "TIFF",
    "XML",
    "XML_DOCUMENT",
    "DocumentInfo",
    "check_size",
    "describe_bytes",
    "inspect_document",
    "sniff_media_type",
]

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
# A bare e-invoice (CII or UBL): accepted by Register only as that (domain/upload.py), never sent to Textract.
XML = "application/xml"

MAX_BYTES = 500 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PAGES = 3000
# "Amazon Textract supports images with a resolution less than or equal to 10000 pixels on all sides."
MAX_IMAGE_PIXELS = 10_000
# "The maximum height and width is 40 inches and 9000 points" (Set Quotas in Amazon Textract). The two numbers
# disagree (40 in is 2,880 pt); the guide's earlier text read "40 inches and 2880 points", and 9,000 is the
# number AWS changed it to, so 9,000 pt (125 in) is the limit refused here. A page between 2,880 and 9,000 pt
# goes to Textract, whose own reason is kept if it fails the job. Checked on the page's visible box (the
# CropBox within the MediaBox, as PDFium sizes a page), on each side.
MAX_PDF_PAGE_POINTS = 9_000
# Readers, PDFium among them, open a PDF with data appended after its %%EOF (a mail gateway's padding, a
# signature blob) by finding the last %%EOF further back. Up to this much is looked through; a file whose last
# %%EOF is further from its end is refused as truncated: bounded work, and no 500 MB scan for a marker.
MAX_PDF_TRAILING_BYTES = 1024 * 1024

# How much of the start of a file the sniffer looks at. PDF readers accept "%PDF-" anywhere in the first 1024
# bytes (some generators put a few junk bytes or a BOM first), so that is the window; but bytes before it that
# are another format's start (a ZIP holding a PDF uncompressed, a GIF, an HTML page) make the file that format.
HEAD_BYTES = 1024

# The file names the hybrid e-invoice standards prescribe for the embedded CII XML (Factur-X 1.0, ZUGFeRD 2.x,
# ZUGFeRD 1.0, XRechnung). Compared case-insensitively: generators disagree on the capitalisation.
EINVOICE_ATTACHMENT_NAMES: tuple[str, ...] = (
    "factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml",
)
_EINVOICE_NAMES_FOLDED = frozenset(name.casefold() for name in EINVOICE_ATTACHMENT_NAMES)

_JPEG_SOI = b"\xff\xd8\xff"
_TIFF_LE = b"II*\x00"
_TIFF_BE = b"MM\x00*"

# How far before its %%EOF a trailer's "startxref" may start: the keyword, an offset, line ends, a comment.
_PDF_STARTXREF_WINDOW = 1024
# PDF syntax after the last %%EOF: an incremental update (objects, then an xref section or stream and a
# trailer) cut short. Specific enough not to match appended text that merely uses the words.
_PDF_UPDATE_SYNTAX = re.compile(
    rb"\d+\s+\d+\s+obj\b|\bendobj\b|(?:^|[\r\n])xref\s*[\r\n]|\btrailer\s*<<|\bstartxref\s+\d"
)


@dataclass(frozen=True)
class DocumentInfo:
    media_type: str
    size: int
    page_count: int
    # File name of an embedded Factur-X / ZUGFeRD / XRechnung XML: such a PDF takes the e-invoice branch.
    embedded_einvoice: str | None = None


# --- identification ----------------------------------------------------------------------------------------
def sniff_media_type(head: bytes) -> str | None:
    """The media type of a supported document from its first bytes (HEAD_BYTES is enough), else None."""
    if head.startswith(PNG_SIGNATURE):
        return PNG
    if head.startswith(_JPEG_SOI):
        return JPEG
    if head.startswith((_TIFF_LE, _TIFF_BE)):
        return TIFF
    at = head.find(b"%PDF-", 0, HEAD_BYTES)
    if at == 0 or (at > 0 and describe_bytes(head[:at]) in _TOLERATED_BEFORE_PDF):
        return PDF
    return None


_UNKNOWN_BINARY = "unrecognised binary data"
_PLAIN_TEXT = "plain text"
XML_DOCUMENT = "an XML document"  # describe_bytes' name for XML that is neither HTML nor SVG
# What may come before "%PDF-": junk of no known format (a BOM, stray bytes, a line of text). Anything else is a
# format of its own that happens to hold a PDF, or a mention of one.
_TOLERATED_BEFORE_PDF = frozenset({_UNKNOWN_BINARY, _PLAIN_TEXT})
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


def describe_bytes(head: bytes) -> str:
    """A short human guess at what an unsupported file is, for the error the uploader will read. Only cheap,
    unambiguous signatures: a wrong guess would mislead more than "unrecognised" does."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        if b"[Content_Types].xml" in head or b"word/" in head or b"xl/" in head or b"ppt/" in head:
            return "an Office document (DOCX/XLSX/PPTX, a ZIP archive)"
        return "a ZIP archive"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "a legacy Microsoft Office document (DOC/XLS)"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"):
            return "a HEIC/HEIF image (export it as JPEG)"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "an MP4/QuickTime video"
    if head.startswith((b"II+\x00", b"MM\x00+")):
        return "a BigTIFF image (Textract reads classic TIFF only)"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "a JPEG 2000 image"
    if head.startswith(b"BM") and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in (12, 40, 52, 56,
                                                                                               108, 124):
        return "a BMP image"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "a 7-Zip archive"
    if head.startswith(b"Rar!\x1a\x07"):
        return "a RAR archive"
    if head.startswith(b"%!PS"):
        return "a PostScript document"
    if head.startswith(b"{\\rtf"):
        return "an RTF document"
    text = _as_text(head)
    if text is None:
        return _UNKNOWN_BINARY
    stripped = text.lstrip()
    if stripped.startswith("<"):
        # Markup may open with comments or an XML declaration before the element that tells what it is.
        if _HTML_START.search(stripped):
            return "an HTML page"
        if "<svg" in stripped:
            return "an SVG image"
        return XML_DOCUMENT
    if stripped.startswith(("{", "[")):
        return "JSON or other plain text"
    return _PLAIN_TEXT


def _as_text(head: bytes) -> str | None:
    """The head as text if it plausibly is text: valid UTF-8 (or UTF-16 with a BOM) without control
    characters other than whitespace."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = head[2:len(head) - (len(head) % 2)].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be")
        except UnicodeDecodeError:
            return None
    else:
        body = head.removeprefix(b"\xef\xbb\xbf")
        text = ""
        # The head may end inside a multi-byte character: drop up to three trailing bytes before giving up.
        for cut in range(4):
            try:
                text = body[:len(body) - cut].decode("utf-8")
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return None
    return text


# --- limits ------------------------------------------------------------------------------------------------
def check_size(size: int) -> None:
    """The limits that need nothing but the size, so Register can refuse before downloading anything."""
    if size <= 0:
        raise EmptyDocument("the file is empty (0 bytes)")
    if size > MAX_BYTES:
        raise DocumentTooLarge(f"the file is {_mb(size)} ({size} bytes): the limit is {_mb(MAX_BYTES)}")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def inspect_document(path: Path, *, size: int) -> DocumentInfo:
    """Identify the file at `path` by its bytes and check everything Textract would refuse it for.

    `size` is the object's size as S3 reports it; the limits are checked on it first, before a byte is read.
    Raises EmptyDocument, DocumentTooLarge, UnsupportedDocumentType, EncryptedDocument, CorruptDocument,
    TooManyPages or DocumentDimensionsTooLarge."""
    check_size(size)
    with path.open("rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        # The object may have been replaced between HEAD and GET: judge the bytes actually in hand too.
        check_size(file_size)
        head = f.read(HEAD_BYTES)
        media_type = sniff_media_type(head)
        if media_type is None:
            raise UnsupportedDocumentType(
                f"not a PDF, PNG, JPEG or TIFF file, nor an e-invoice XML: the bytes look like {describe_bytes(head)}"
            )
        if media_type in (PNG, JPEG) and file_size > MAX_IMAGE_BYTES:
            raise DocumentTooLarge(
                f"a {media_type.removeprefix('image/').upper()} image of {_mb(file_size)}: Textract takes JPEG and PNG"
                f" up to {_mb(MAX_IMAGE_BYTES)} (convert it to PDF to send a larger scan)"
            )
        if media_type == PDF:
            _check_pdf_trailer(f, file_size)
            page_count, embedded = _inspect_pdf(path)
            return DocumentInfo(media_type=PDF, size=size, page_count=page_count, embedded_einvoice=embedded)
        if media_type == TIFF:
            pages = tiff_pages(f, file_size, too_many=_check_tiff_page_count)
        else:
            pages = [(png_dimensions if media_type == PNG else jpeg_dimensions)(f, file_size)]
    for number, (width, height) in enumerate(pages, start=1):
        _check_pixels(width, height, page=number if media_type == TIFF else None)
    return DocumentInfo(media_type=media_type, size=size, page_count=len(pages))


def _check_page_count(pages: int, *, counted_all: bool = True) -> None:
    """`counted_all` is False while a TIFF's pages are being counted: the walk stops one page past the limit."""
    if pages > MAX_PAGES:
        counted = f"{pages}" if counted_all else f"more than {MAX_PAGES}"
        raise TooManyPages(f"the document has {counted} pages: the limit is {MAX_PAGES}")


def _check_tiff_page_count(pages: int) -> None:
    _check_page_count(pages, counted_all=False)


def _check_pixels(width: int, height: int, *, page: int | None) -> None:
    if max(width, height) > MAX_IMAGE_PIXELS:
        where = f"page {page} is" if page is not None else "the image is"
        raise DocumentDimensionsTooLarge(
            f"{where} {width} x {height} pixels: Textract takes images of at most {MAX_IMAGE_PIXELS:,} pixels on"
            " each side (scale it down, or scan at a lower resolution)"
        )


# --- PDF ---------------------------------------------------------------------------------------------------
def _check_pdf_trailer(f: BinaryIO, file_size: int) -> None:
    """A PDF cut short loses its trailer. PDFium repairs such files by scanning for objects and would happily
    report the pages that survived, so the missing trailer is the only reliable sign that the rest is gone.

    The trailer is the last "%%EOF" with a "startxref" just before it. Data after it is accepted up to
    MAX_PDF_TRAILING_BYTES, as readers accept it, unless that data is PDF syntax: then an incremental update
    (a signature, a filled-in form) was cut short and the "%%EOF" found is an earlier revision's."""
    read = min(file_size, MAX_PDF_TRAILING_BYTES + _PDF_STARTXREF_WINDOW)
    f.seek(file_size - read)
    tail = f.read(read)
    eof = tail.rfind(b"%%EOF")
    if eof == -1 or len(tail) - eof - 5 > MAX_PDF_TRAILING_BYTES:
        # "At its end": within its last MAX_PDF_TRAILING_BYTES (the README's example output shows these words).
        raise CorruptDocument("the PDF is truncated or damaged: no %%EOF marker at its end")
    if _PDF_UPDATE_SYNTAX.search(tail, eof + 5):
        raise CorruptDocument("the PDF is truncated: an update after its last %%EOF marker is cut short")
    if tail.rfind(b"startxref", max(0, eof - _PDF_STARTXREF_WINDOW), eof) == -1:
        raise CorruptDocument("the PDF is truncated or damaged: no startxref before its %%EOF marker")


# PDFium is not thread-safe and its last-error code is process-wide. A Lambda process runs one invocation at
# a time, but local mode runs handlers (and the local OCR engine) on threads of one process: every PDFium
# call in the project holds this lock.
PDFIUM_LOCK = threading.RLock()


def _inspect_pdf(path: Path) -> tuple[int, str | None]:
    with PDFIUM_LOCK:
        return _inspect_pdf_unlocked(path)


def _inspect_pdf_unlocked(path: Path) -> tuple[int, str | None]:
    """Page count and embedded e-invoice name. PDFium reads a path through its own file access, loading the
    cross-reference table and page tree only: memory does not grow with the file.

    The document is opened through the raw API rather than `PdfDocument(path)`: pypdfium2 raises on a document
    without pages and attaches PDFium's last error code, which is not reset by a successful load, so a PDF
    without pages opened after a password-protected one would be reported as encrypted."""
    raw = pdfium_c.FPDF_LoadDocument(os.fsencode(path) + b"\x00", None)
    if not raw:
        code = pdfium_c.FPDF_GetLastError()  # set by this very failure
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedDocument("the PDF is password-protected: remove the password and upload it again")
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedDocument("the PDF uses an encryption scheme that cannot be opened")
        reason = {pdfium_c.FPDF_ERR_FILE: "file error", pdfium_c.FPDF_ERR_FORMAT: "not a valid PDF structure"}
        raise CorruptDocument(f"the PDF cannot be read (PDFium: {reason.get(code, f'error {code}')})")
    pdf = pdfium.PdfDocument(raw)  # takes ownership: closing it closes the handle
    try:
        page_count = len(pdf)
        if page_count < 1:
            raise CorruptDocument("the PDF has no pages")
        _check_page_count(page_count)
        _check_pdf_pages(pdf, page_count)
        embedded = None
        for index in range(pdf.count_attachments()):
            name = pdf.get_attachment(index).get_name()
            if name.casefold() in _EINVOICE_NAMES_FOLDED:
                embedded = name
                break
        return page_count, embedded
    finally:
        pdf.close()


def _check_pdf_pages(pdf: pdfium.PdfDocument, page_count: int) -> None:
    """Each page's size from its dictionary (FPDF_GetPageSizeByIndexF: the CropBox within the MediaBox, with
    the inherited attributes, and no content stream parsed), against Textract's page limit. 3,000 pages take
    about 0.1 s."""
    for index in range(page_count):
        try:
            width, height = pdf.get_page_size(index)
        except pdfium.PdfiumError as exc:
            raise CorruptDocument(f"the PDF is damaged: page {index + 1} cannot be loaded") from exc
        if max(width, height) > MAX_PDF_PAGE_POINTS:
            raise DocumentDimensionsTooLarge(
                f"page {index + 1} is {_points(width)} x {_points(height)}: Textract takes PDF pages of at most"
                f" {_points(MAX_PDF_PAGE_POINTS)} on each side"
            )


def _points(value: float) -> str:
    return f"{value:,.0f} pt ({value / 72:,.1f} in)"
