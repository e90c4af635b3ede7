"""What an uploaded file really is, judged by its bytes, and whether Textract can take it.

The extension and the Content-Type an uploader sends are never trusted: a ".pdf" can hold HTML from a login
page or a ZIP, and finding that out here costs nothing, while finding it out from Textract costs a job and a
failure that names the wrong cause. Every check reads a bounded amount of the file at a time (the head, the
tail, the structure of an image): a 500 MB upload is inspected without holding it in memory.

Limits are Textract's own "set quotas" for asynchronous operations: 500 MB and 3,000 pages for PDF and TIFF,
10 MB for JPEG and PNG, no password-protected PDFs. AWS's "MB" is binary: the 10 MB limit on Document.Bytes is
documented as 10,485,760 bytes."""

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

from invoice_pipeline.errors import (
    CorruptDocument,
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
    "MAX_PAGES",
    "PDF",
    "PNG",
    "TIFF",
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

MAX_BYTES = 500 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PAGES = 3000

# How much of the start of a file the sniffer looks at. PDF readers accept "%PDF-" anywhere in the first 1024
# bytes (some generators put a few junk bytes or a BOM first), so that is the window.
HEAD_BYTES = 1024

# The file names the hybrid e-invoice standards prescribe for the embedded CII XML (Factur-X 1.0, ZUGFeRD 2.x,
# ZUGFeRD 1.0, XRechnung). Compared case-insensitively: generators disagree on the capitalisation.
EINVOICE_ATTACHMENT_NAMES: tuple[str, ...] = (
    "factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml",
)
_EINVOICE_NAMES_FOLDED = frozenset(name.casefold() for name in EINVOICE_ATTACHMENT_NAMES)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
_TIFF_LE = b"II*\x00"
_TIFF_BE = b"MM\x00*"

# A PDF's trailer ("startxref", offset, "%%EOF") must end within the last 1024 bytes, as Acrobat requires. The
# window read is larger so that a "startxref" just before that boundary is still seen.
_PDF_EOF_WINDOW = 1024
_PDF_TAIL_READ = 2048

_CHUNK = 1024 * 1024


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
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(_JPEG_SOI):
        return JPEG
    if head.startswith((_TIFF_LE, _TIFF_BE)):
        return TIFF
    if b"%PDF-" in head[:HEAD_BYTES]:
        return PDF
    return None


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
        return "unrecognised binary data"
    stripped = text.lstrip()
    if stripped.startswith("<"):
        # Markup may open with comments or an XML declaration before the element that tells what it is.
        if _HTML_START.search(stripped):
            return "an HTML page"
        if "<svg" in stripped:
            return "an SVG image"
        return "an XML document"
    if stripped.startswith(("{", "[")):
        return "JSON or other plain text"
    return "plain text"


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
    Raises EmptyDocument, DocumentTooLarge, UnsupportedDocumentType, EncryptedDocument, CorruptDocument or
    TooManyPages."""
    check_size(size)
    with path.open("rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        # The object may have been replaced between HEAD and GET: judge the bytes actually in hand too.
        check_size(file_size)
        head = f.read(HEAD_BYTES)
        media_type = sniff_media_type(head)
        if media_type is None:
            raise UnsupportedDocumentType(
                f"not a PDF, PNG, JPEG or TIFF file: the bytes look like {describe_bytes(head)}"
            )
        if media_type in (PNG, JPEG) and file_size > MAX_IMAGE_BYTES:
            raise DocumentTooLarge(
                f"a {media_type.removeprefix('image/').upper()} image of {_mb(file_size)}: Textract takes JPEG and PNG"
                f" up to {_mb(MAX_IMAGE_BYTES)} (convert it to PDF to send a larger scan)"
            )
        embedded: str | None = None
        if media_type == PDF:
            _check_pdf_trailer(f, file_size)
            page_count, embedded = _inspect_pdf(path)
        elif media_type == PNG:
            _check_png(f, file_size)
            page_count = 1
        elif media_type == JPEG:
            _check_jpeg(f, file_size)
            page_count = 1
        else:
            page_count = _tiff_page_count(f, file_size)
    if page_count > MAX_PAGES:
        raise TooManyPages(f"the document has {page_count} pages: the limit is {MAX_PAGES}")
    return DocumentInfo(media_type=media_type, size=size, page_count=page_count, embedded_einvoice=embedded)


# --- PDF ---------------------------------------------------------------------------------------------------
def _check_pdf_trailer(f: BinaryIO, file_size: int) -> None:
    """A PDF cut short loses its trailer. PDFium repairs such files by scanning for objects and would happily
    report the pages that survived, so the missing trailer is the only reliable sign that the rest is gone."""
    f.seek(max(0, file_size - _PDF_TAIL_READ))
    tail = f.read(_PDF_TAIL_READ)
    eof = tail.rfind(b"%%EOF")
    if eof == -1 or len(tail) - eof > _PDF_EOF_WINDOW:
        raise CorruptDocument("the PDF is truncated or damaged: no %%EOF marker at its end")
    if tail.rfind(b"startxref", 0, eof) == -1:
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
        embedded = None
        for index in range(pdf.count_attachments()):
            name = pdf.get_attachment(index).get_name()
            if name.casefold() in _EINVOICE_NAMES_FOLDED:
                embedded = name
                break
        return page_count, embedded
    finally:
        pdf.close()


# --- PNG ---------------------------------------------------------------------------------------------------
def _check_png(f: BinaryIO, file_size: int) -> None:
    """Walk the chunk list up to IEND. Following the lengths (rather than looking for "IEND" in the tail)
    catches a file cut inside its image data even when something was appended after the cut."""
    offset = len(_PNG_SIGNATURE)
    first = True
    while True:
        header = _read_at(f, offset, 8)
        if len(header) < 8:
            raise CorruptDocument("the PNG is truncated: it ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", header)
        if first and kind != b"IHDR":
            raise CorruptDocument("the PNG is damaged: it does not start with an IHDR chunk")
        first = False
        if kind == b"IEND":
            return
        offset += 8 + length + 4  # header, data, CRC
        if offset > file_size:
            raise CorruptDocument("the PNG is truncated: a chunk runs past the end of the file")


# --- JPEG --------------------------------------------------------------------------------------------------
# Markers that stand alone, without a length field: TEM and the restart markers (SOI is handled apart).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_EOI, _SOI = 0xD9, 0xD8


def _check_jpeg(f: BinaryIO, file_size: int) -> None:
    """Walk the marker segments, and the entropy-coded data between them, until the EOI marker.

    Looking at the last two bytes is not enough: phones append data after EOI (Motion Photo videos, maker
    trailers), and an EXIF thumbnail holds an EOI of its own that a search of the raw bytes would find in a
    photo cut in half. Segments are skipped by their lengths, so the thumbnail is never taken for the end."""
    f.seek(2)
    while True:
        marker = _next_jpeg_marker(f)
        if marker is None:
            raise CorruptDocument("the JPEG is truncated: it ends without an end-of-image marker")
        if marker == _EOI:
            return
        if marker in _STANDALONE or marker == _SOI:
            continue
        raw = f.read(2)
        if len(raw) < 2:
            raise CorruptDocument("the JPEG is truncated inside a segment header")
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            raise CorruptDocument(f"the JPEG is damaged: segment 0xFF{marker:02X} has length {length}")
        end = f.tell() + length - 2
        if end > file_size:
            raise CorruptDocument(f"the JPEG is truncated inside segment 0xFF{marker:02X}")
        f.seek(end)


def _next_jpeg_marker(f: BinaryIO) -> int | None:
    """The code of the next marker from the current position, leaving the file just after it; None at the end
    of the file. Skips entropy-coded data, where 0xFF is followed by a stuffed 0x00 or a restart marker, and
    fill bytes (0xFF 0xFF...). Reads in chunks so memory stays flat."""
    while True:
        start = f.tell()
        chunk = f.read(_CHUNK)
        if len(chunk) < 2:
            return None
        i = 0
        j = -1
        while True:
            j = chunk.find(b"\xff", i)
            if j == -1 or j + 1 == len(chunk):
                break
            code = chunk[j + 1]
            if code == 0xFF:
                i = j + 1
            elif code == 0x00 or 0xD0 <= code <= 0xD7:
                i = j + 2
            else:
                f.seek(start + j + 2)
                return code
        if len(chunk) < _CHUNK:
            return None
        # Resume at a trailing 0xFF so the byte after it, in the next chunk, is read together with it.
        f.seek(start + (j if j != -1 else len(chunk)))


# --- TIFF --------------------------------------------------------------------------------------------------
_STRIP_OFFSETS, _STRIP_BYTE_COUNTS, _TILE_OFFSETS, _TILE_BYTE_COUNTS = 273, 279, 324, 325
_FIELD_SIZES = {3: 2, 4: 4}  # SHORT and LONG: the only types these four tags may have in a classic TIFF


def _tiff_page_count(f: BinaryIO, file_size: int) -> int:
    """Count the pages by walking the chain of image file directories (one IFD per page), checking on the way
    that every directory, and the image data it points to, lies inside the file. Stops one page past the
    limit: how far past it an over-long file goes does not matter."""
    f.seek(0)
    header = f.read(8)
    if len(header) < 8:
        raise CorruptDocument("the TIFF is truncated: its header is incomplete")
    order = "<" if header.startswith(b"II") else ">"
    (offset,) = struct.unpack(order + "I", header[4:8])
    if offset == 0:
        raise CorruptDocument("the TIFF is damaged: it has no image directory")
    seen: set[int] = set()
    pages = 0
    while offset != 0:
        if offset in seen:
            raise CorruptDocument("the TIFF is damaged: its image directories form a loop")
        seen.add(offset)
        if offset + 2 > file_size:
            raise CorruptDocument(
                f"the TIFF is truncated: image directory {pages + 1} at byte {offset} lies beyond the end of"
                f" the file ({file_size} bytes)"
            )
        (count,) = struct.unpack(order + "H", _read_at(f, offset, 2))
        entries = _read_at(f, offset + 2, count * 12 + 4)
        if len(entries) < count * 12 + 4:
            raise CorruptDocument(f"the TIFF is truncated inside image directory {pages + 1}")
        pages += 1
        if pages > MAX_PAGES:
            raise TooManyPages(f"the TIFF has more than {MAX_PAGES} pages: the limit is {MAX_PAGES}")
        _check_tiff_image_data(f, order, entries[: count * 12], file_size, pages)
        (offset,) = struct.unpack(order + "I", entries[count * 12:])
    return pages


def _check_tiff_image_data(f: BinaryIO, order: str, entries: bytes, file_size: int, page: int) -> None:
    """Writers that put the directory before the pixels leave an intact directory when the file is cut: the
    strip (or tile) offsets and byte counts then point past the end."""
    fields: dict[int, list[int]] = {}
    for pos in range(0, len(entries), 12):
        tag, kind, count = struct.unpack(order + "HHI", entries[pos:pos + 8])
        if tag not in (_STRIP_OFFSETS, _STRIP_BYTE_COUNTS, _TILE_OFFSETS, _TILE_BYTE_COUNTS):
            continue
        width = _FIELD_SIZES.get(kind)
        if width is None:
            raise CorruptDocument(f"the TIFF is damaged: tag {tag} of page {page} has type {kind}")
        total = width * count
        if total <= 4:
            raw = entries[pos + 8:pos + 8 + total]
        else:
            (where,) = struct.unpack(order + "I", entries[pos + 8:pos + 12])
            if where + total > file_size:
                raise CorruptDocument(f"the TIFF is truncated: the data table of page {page} is missing")
            raw = _read_at(f, where, total)
        letter = "H" if width == 2 else "I"
        fields[tag] = list(struct.unpack(f"{order}{count}{letter}", raw))
    for offsets_tag, counts_tag in ((_STRIP_OFFSETS, _STRIP_BYTE_COUNTS), (_TILE_OFFSETS, _TILE_BYTE_COUNTS)):
        offsets, counts = fields.get(offsets_tag), fields.get(counts_tag)
        if offsets and counts:
            end = max(start + length for start, length in zip(offsets, counts, strict=False))
            if end > file_size:
                raise CorruptDocument(
                    f"the TIFF is truncated: the image data of page {page} runs to byte {end}, past the end"
                    f" of the file ({file_size} bytes)"
                )


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)
