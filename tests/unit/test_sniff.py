"""Identifying and checking uploads by their bytes. Every file is made here, in tmp_path, except the hybrid
e-invoices, which come from the shared data set."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from invoice_pipeline.domain import images, sniff
from invoice_pipeline.domain.sniff import (
    JPEG,
    MAX_BYTES,
    MAX_IMAGE_BYTES,
    PDF,
    PNG,
    TIFF,
    DocumentInfo,
    check_size,
    describe_bytes,
    inspect_document,
    sniff_media_type,
)
from invoice_pipeline.errors import (
    CorruptDocument,
    DocumentDimensionsTooLarge,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    TooManyPages,
    UnsupportedDocumentType,
)

from tests.pdf_bytes import assemble_pdf
from tests.shared_data import INVOICES_DIR, require, skip_or_fail


# --- file makers --------------------------------------------------------------------------------------------
def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def inspect(path: Path) -> DocumentInfo:
    return inspect_document(path, size=path.stat().st_size)


def make_pdf(pages: int = 1, attachments: dict[str, bytes] | None = None,
             sizes: list[tuple[float, float]] | None = None) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for width, height in sizes or [(595, 842)] * pages:
        pdf.new_page(width, height)
    for name, data in (attachments or {}).items():
        pdf.new_attachment(name).set_data(data)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def make_encrypted_pdf(
    user_password: str, owner_password: str = "owner", *, handler: bytes = b"Standard"
) -> bytes:
    """A genuinely encrypted PDF: standard security handler, revision 2 (40-bit RC4), computed per the PDF
    specification's algorithms 3.2-3.4. Neither pypdfium2 nor anything installed writes encryption. The
    document holds no strings or streams, so nothing but the /O and /U entries needs encrypting."""
    doc_id = hashlib.md5(b"invoice-pipeline-test").digest()
    permissions = -4
    owner_key = hashlib.md5((owner_password.encode() + _PAD)[:32]).digest()[:5]
    o_entry = rc4(owner_key, (user_password.encode() + _PAD)[:32])
    file_key = hashlib.md5(
        (user_password.encode() + _PAD)[:32] + o_entry + struct.pack("<i", permissions) + doc_id
    ).digest()[:5]
    u_entry = rc4(file_key, _PAD)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Filter /%s /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (handler, o_entry.hex().encode(), u_entry.hex().encode(), permissions),
    ]
    trailer = b"/Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>]" % (doc_id.hex().encode(), doc_id.hex().encode())
    return assemble_pdf(objects, trailer)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(width: int = 4, height: int = 3) -> bytes:
    """A real, decodable greyscale PNG."""
    raw = b"".join(b"\x00" + bytes(i % 256 for i in range(width)) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def sof(width: int, height: int, marker: int = 0xC0) -> bytes:
    """A frame header: precision, height, width, one component (id 1, sampling 1x1, table 0)."""
    return segment(marker, b"\x08" + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00")


def make_jpeg(width: int = 16, height: int = 16, *, scan_first: bool = False) -> bytes:
    """A JPEG with the structure of a phone photo: JFIF, an EXIF segment whose thumbnail carries its own
    SOI..EOI (and a frame header of 20,000 x 20,000 px, which is not the picture's), tables, a frame, and a scan
    whose entropy-coded data holds stuffed 0xFF bytes and restart markers. Only the structure matters to the
    checker, so the scan data is arbitrary. `scan_first` puts the scan before the frame header."""
    thumbnail = b"\xff\xd8\xff\xdb\x00\x04\x00\x00" + sof(20_000, 20_000) + b"thumb" + b"\xff\xd9"
    entropy = b"\x12\x34\xff\x00\x56" * 50 + b"\xff\xd0" + b"\x78\xff\x00" * 50 + b"\xff\xd1" + b"\x9a" * 200
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xE1, b"Exif\x00\x00" + b"\x00" * 32 + thumbnail + b"\x00" * 16)
        + segment(0xDB, b"\x00" + bytes(range(64)))
        + (b"" if scan_first else sof(width, height))
        + segment(0xC4, b"\x00" + b"\x00" * 16)
        + segment(0xDD, b"\x00\x04")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + entropy
        + (sof(width, height) if scan_first else b"")
        + b"\xff\xd9"
    )


def make_tiff(pages: int = 1, *, big_endian: bool = False, directory_first: bool = False,
              sizes: list[tuple[int, int]] | None = None) -> bytes:
    """A real, uncompressed multi-page greyscale TIFF (8x8 px per page, or `sizes`, one per page). By default
    each page's pixels come before its directory, as libtiff writes; `directory_first` puts the directory
    before the pixels."""
    order = ">" if big_endian else "<"
    out = bytearray(b"MM\x00*" if big_endian else b"II*\x00")
    out += b"\x00\x00\x00\x00"  # first IFD offset, patched below
    link_at = 4
    sizes = sizes or [(8, 8)] * pages
    tags = 8
    ifd_size = 2 + tags * 12 + 4
    for page, (width, height) in enumerate(sizes):
        pixels = bytes((page * 16 + i) % 256 for i in range(width * height))
        if directory_first:
            ifd_at, data_at = len(out), len(out) + ifd_size
        else:
            data_at, ifd_at = len(out), len(out) + len(pixels)
        entries = [
            (256, 4, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, data_at), (278, 3, 1, height), (279, 4, 1, len(pixels)),
        ]
        ifd = struct.pack(order + "H", tags)
        for tag, kind, count, value in entries:
            # A SHORT value sits in the first two bytes of the four-byte value field.
            packed = struct.pack(order + "HH", value, 0) if kind == 3 else struct.pack(order + "I", value)
            ifd += struct.pack(order + "HHI", tag, kind, count) + packed
        ifd += b"\x00\x00\x00\x00"  # next IFD: none yet, patched when another page follows
        out[link_at:link_at + 4] = struct.pack(order + "I", ifd_at)
        link_at = ifd_at + ifd_size - 4
        out += (ifd + pixels) if directory_first else (pixels + ifd)
    return bytes(out)


def set_first_ifd(tiff: bytes, offset: int) -> bytes:
    order = ">" if tiff.startswith(b"MM") else "<"
    return tiff[:4] + struct.pack(order + "I", offset) + tiff[8:]


# --- sniff_media_type ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", PDF),
        (b"\xef\xbb\xbf%PDF-1.4\n", PDF),  # a BOM before the header, as some generators write
        (b"\x00" * 1000 + b"%PDF-1.4\n", PDF),  # junk first: readers look in the first 1024 bytes
        (b"\x00" * 1020 + b"%PDF-1.4\n", None),  # the header starts in the window but does not fit in it
        (b"\x00" * 2000 + b"%PDF-1.4\n", None),
        (b"From: scanner@example.com\r\nSubject: scan\r\n\r\n%PDF-1.4\n", PDF),  # a line of text first
        # Another format's start before the header: that format, holding (or mentioning) a PDF.
        (b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 20 + b"invoice.pdf%PDF-1.4\n", None),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;%PDF-1.4\n", None),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00%PDF-1.4\n", None),
        (b"<!DOCTYPE html><html><body><pre>%PDF-1.4\n", None),
        (b'{"file": "%PDF-1.4', None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"\xff\xd8\xff\xe1\x00\x10Exif", JPEG),
        (b"II*\x00\x08\x00\x00\x00", TIFF),
        (b"MM\x00*\x00\x00\x00\x08", TIFF),
        (b"II+\x00\x08\x00\x00\x00", None),  # BigTIFF: Textract reads classic TIFF only
        (b"\x89PNG\r\n", None),  # a signature cut short is not a PNG
        (b"PK\x03\x04", None),
        (b"<!DOCTYPE html><html>", None),
        (b"", None),
    ],
)
def test_sniff_media_type(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


@pytest.mark.parametrize(
    ("head", "phrase"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"notes.txt", "ZIP archive"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"[Content_Types].xml", "Office document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "legacy Microsoft Office"),
        (b"<!DOCTYPE html>\n<html lang='en'>", "HTML"),
        (b"  \n<!-- login page -->\n<HTML><BODY>", "HTML"),
        (b"<?xml version='1.0'?><rsm:CrossIndustryInvoice>", "XML document"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'>", "SVG"),
        (b"Invoice 2024-001\nTotal: 12.50 EUR\n", "plain text"),
        ("Rechnung Nr. 17 über 12,50 €\n".encode(), "plain text"),
        ("Rechnung über".encode()[:-1], "plain text"),  # cut inside a multi-byte character
        ("UTF-16 text".encode("utf-16"), "plain text"),
        (b'{"total": "12.50"}', "JSON"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
        (b"II+\x00\x08\x00\x00\x00", "BigTIFF"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x00\x01\x02\x03\xfe\xfd", "unrecognised binary data"),
    ],
)
def test_describe_bytes(head: bytes, phrase: str) -> None:
    assert phrase in describe_bytes(head)


# --- rejected by their bytes, whatever the name -------------------------------------------------------------
def _zip_bytes(first_name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(first_name, "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"Just a text file, renamed.\n" * 10, "plain text"),
        (b"<!doctype html>\n<html><head><title>Sign in</title></head><body></body></html>\n", "HTML page"),
        (_zip_bytes("invoice.pdf"), "ZIP archive"),
        (_zip_bytes("[Content_Types].xml"), "Office document"),
    ],
)
def test_non_documents_named_pdf_are_rejected_by_bytes(tmp_path: Path, data: bytes, phrase: str) -> None:
    path = write(tmp_path, "invoice.pdf", data)
    with pytest.raises(UnsupportedDocumentType, match=phrase):
        inspect(path)


def test_a_real_pdf_named_otherwise_is_still_a_pdf(tmp_path: Path) -> None:
    info = inspect(write(tmp_path, "scan.jpg", make_pdf(2)))
    assert info == DocumentInfo(media_type=PDF, size=info.size, page_count=2, embedded_einvoice=None)


# --- size limits --------------------------------------------------------------------------------------------
def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument):
        inspect(write(tmp_path, "empty.pdf", b""))


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    # The path does not even exist: the reported size alone is enough to refuse.
    with pytest.raises(DocumentTooLarge, match="500.0 MB"):
        inspect_document(tmp_path / "never-downloaded.pdf", size=MAX_BYTES + 1)
    check_size(MAX_BYTES)  # exactly at the limit is allowed
    with pytest.raises(EmptyDocument):
        check_size(0)


def test_image_over_the_textract_image_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as f:
        f.write(make_png())
        f.truncate(MAX_IMAGE_BYTES + 1)  # sparse: no 10 MB is written
    with pytest.raises(DocumentTooLarge, match="^a PNG image of 10.0 MB"):
        inspect(path)


# --- PDF ----------------------------------------------------------------------------------------------------
def test_generated_pdf(tmp_path: Path) -> None:
    data = make_pdf(3)
    info = inspect(write(tmp_path, "doc.pdf", data))
    assert info == DocumentInfo(media_type=PDF, size=len(data), page_count=3, embedded_einvoice=None)


def test_pdf_with_leading_junk(tmp_path: Path) -> None:
    info = inspect(write(tmp_path, "doc.pdf", b"\r\n\x00junk\r\n" + make_pdf(1)))
    assert (info.media_type, info.page_count) == (PDF, 1)


def test_pdf_cut_in_half(tmp_path: Path) -> None:
    data = make_pdf(4)
    with pytest.raises(CorruptDocument, match="truncated"):
        inspect(write(tmp_path, "half.pdf", data[: len(data) // 2]))


def test_pdf_cut_before_its_trailer_is_corrupt_although_pdfium_repairs_it(tmp_path: Path) -> None:
    data = make_pdf(3)
    cut = data[: data.rfind(b"startxref")]
    path = write(tmp_path, "cut.pdf", cut)
    repaired = pdfium.PdfDocument(path)  # the premise: PDFium rebuilds the lost xref and finds every page
    assert len(repaired) == 3
    repaired.close()
    with pytest.raises(CorruptDocument, match="%%EOF"):
        inspect(path)


def test_pdf_without_startxref(tmp_path: Path) -> None:
    data = make_pdf(1)
    mangled = data.replace(b"startxref", b"xxxxxxxxx")
    with pytest.raises(CorruptDocument, match="startxref"):
        inspect(write(tmp_path, "mangled.pdf", mangled))


@pytest.mark.parametrize("garbage", [
    b"\x00" * 2000,
    bytes(range(256)) * 400,  # 100 KB of binary data after %%EOF
    b"<p>Scanned by MailGate. See the trailer for the xref of this message.</p>\n" * 1400,  # words, no syntax
])
def test_pdf_with_data_appended_after_its_eof_opens(tmp_path: Path, garbage: bytes) -> None:
    """Readers (PDFium here, which repairs the cross-reference table) open a PDF with data appended after its
    %%EOF; so does Textract. It was refused as truncated while the %%EOF had to be in the last 1024 bytes."""
    path = write(tmp_path, "padded.pdf", make_pdf(2) + garbage)
    opened = pdfium.PdfDocument(path)  # the premise
    assert len(opened) == 2
    opened.close()
    assert inspect(path).page_count == 2


def test_pdf_appended_data_is_looked_through_up_to_its_limit(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniff, "MAX_PDF_TRAILING_BYTES", 4096)
    pdf = make_pdf(1)
    after = len(pdf) - pdf.rfind(b"%%EOF") - len(b"%%EOF")  # the generator's own line end
    assert inspect(write(tmp_path, "ok.pdf", pdf + b"\x00" * (4096 - after))).page_count == 1
    with pytest.raises(CorruptDocument, match="no %%EOF marker at its end"):
        inspect(write(tmp_path, "far.pdf", pdf + b"\x00" * (4097 - after)))


def _incremental_update(pdf: bytes) -> bytes:
    """An incremental update that adds an /Info dictionary: a new object, an xref section, a trailer."""
    size = int(re.search(rb"/Size (\d+)", pdf).group(1))  # type: ignore[union-attr]
    root = re.search(rb"/Root (\d+ \d+ R)", pdf).group(1)  # type: ignore[union-attr]
    previous = int(pdf[pdf.rfind(b"startxref") + 9:].split()[0])
    body = b"\n%d 0 obj\n<< /Producer (update) >>\nendobj\n" % size
    xref_at = len(pdf) + len(body)
    return pdf + body + (
        b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Info %d 0 R /Prev %d >>\n"
        b"startxref\n%d\n%%%%EOF\n" % (size, len(pdf) + 1, size + 1, root, size, previous, xref_at)
    )


def test_pdf_with_an_incremental_update_is_fine(tmp_path: Path) -> None:
    assert inspect(write(tmp_path, "updated.pdf", _incremental_update(make_pdf(2)))).page_count == 2


@pytest.mark.parametrize("keep", ["object", "xref"])
def test_pdf_whose_incremental_update_is_cut_short_is_corrupt(tmp_path: Path, keep: str) -> None:
    """The earlier revision's %%EOF is intact, and what follows it is not garbage but PDF syntax: the file was
    cut inside its last update (a signature, a filled-in form), which PDFium would silently drop."""
    updated = _incremental_update(make_pdf(2))
    cut = updated[: updated.rfind(b"endobj") + 6] if keep == "object" else updated[: updated.rfind(b"trailer")]
    path = write(tmp_path, "cut.pdf", cut)
    opened = pdfium.PdfDocument(path)  # the premise: PDFium opens it
    assert len(opened) == 2
    opened.close()
    with pytest.raises(CorruptDocument, match="update after its last %%EOF marker is cut short"):
        inspect(path)


def _stored_zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


def test_uncompressed_zip_holding_a_pdf_is_a_zip(tmp_path: Path) -> None:
    """The archive holds a whole PDF, uncompressed: "%PDF-" lies in its first 1024 bytes and "%%EOF" near its
    end, and PDFium, which looks for the header in the first 1024 bytes, opens it. The bytes before the
    header are a ZIP's local file header: the file is a ZIP."""
    data = _stored_zip("invoice.pdf", make_pdf(1))
    assert data.startswith(b"PK\x03\x04") and 0 < data.find(b"%PDF-") < 100
    path = write(tmp_path, "invoice.pdf", data)
    opened = pdfium.PdfDocument(path)  # the premise
    assert len(opened) == 1
    opened.close()
    with pytest.raises(UnsupportedDocumentType, match="a ZIP archive"):
        inspect(path)


def test_pdf_with_a_little_trailing_whitespace_is_fine(tmp_path: Path) -> None:
    assert inspect(write(tmp_path, "padded.pdf", make_pdf(1) + b"\r\n" * 20)).page_count == 1


def test_unreadable_pdf(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + b"this is not a pdf body\n" * 20 + b"startxref\n9\n%%EOF\n"
    with pytest.raises(CorruptDocument, match="cannot be read"):
        inspect(write(tmp_path, "broken.pdf", data))


def test_pdf_without_pages(tmp_path: Path) -> None:
    data = assemble_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], b"/Root 1 0 R"
    )
    # An encrypted PDF first: PDFium keeps its last error code across a later successful load, which once
    # made this empty PDF come out as "password-protected".
    with pytest.raises(EncryptedDocument):
        inspect(write(tmp_path, "locked.pdf", make_encrypted_pdf("secret")))
    with pytest.raises(CorruptDocument, match="no pages"):
        inspect(write(tmp_path, "nopages.pdf", data))


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "locked.pdf", make_encrypted_pdf("secret"))
    # The premise: the file is really encrypted, not merely broken. With its password it opens.
    unlocked = pdfium.PdfDocument(path, password="secret")
    assert len(unlocked) == 1
    unlocked.close()
    with pytest.raises(EncryptedDocument, match="password"):
        inspect(path)


def test_pdf_with_owner_password_only_is_readable(tmp_path: Path) -> None:
    """Encrypted with an empty user password (permissions only): every reader opens it without asking, so
    it is not refused here. Whether Textract takes it is Textract's call (TextractRejectedDocument)."""
    info = inspect(write(tmp_path, "restricted.pdf", make_encrypted_pdf("")))
    assert (info.media_type, info.page_count) == (PDF, 1)


def test_pdf_with_unknown_security_handler(tmp_path: Path) -> None:
    with pytest.raises(EncryptedDocument):
        inspect(write(tmp_path, "drm.pdf", make_encrypted_pdf("", handler=b"FooDRM")))


@pytest.mark.parametrize(
    "name", ["factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml"]
)
def test_generated_pdf_with_einvoice_attachment(tmp_path: Path, name: str) -> None:
    data = make_pdf(1, {"readme.txt": b"hello", name: b"<rsm:CrossIndustryInvoice/>"})
    assert inspect(write(tmp_path, "hybrid.pdf", data)).embedded_einvoice == name


def test_other_attachments_are_not_einvoices(tmp_path: Path) -> None:
    # A UBL file is XML too, but not the CII the e-invoice branch reads.
    data = make_pdf(1, {"UBL-Invoice-2.1.xml": b"<Invoice/>", "timesheet.pdf": make_pdf(1)})
    assert inspect(write(tmp_path, "attachments.pdf", data)).embedded_einvoice is None


def _shared_pdfs(pattern: str) -> list[Path]:
    found = sorted(require(INVOICES_DIR).glob(pattern))
    if not found:
        skip_or_fail(f"no {pattern} files in {INVOICES_DIR}")
    return found


@pytest.mark.parametrize(("pattern", "expected"), [("EN16931_*.pdf", "factur-x.xml"),
                                                   ("XRECHNUNG_*.pdf", "xrechnung.xml")])
def test_shared_hybrid_einvoices_report_their_xml(pattern: str, expected: str) -> None:
    for path in _shared_pdfs(pattern):
        info = inspect(path)
        assert info.media_type == PDF, path.name
        assert info.page_count >= 1, path.name
        assert info.embedded_einvoice is not None and info.embedded_einvoice.casefold() == expected, path.name


def test_shared_hybrid_einvoice_cut_short_is_corrupt(tmp_path: Path) -> None:
    data = _shared_pdfs("EN16931_*.pdf")[0].read_bytes()
    # 99%: PDFium repairs this one and would report every page (measured on pdfium 159).
    cut = write(tmp_path, "cut.pdf", data[: len(data) * 99 // 100])
    with pytest.raises(CorruptDocument):
        inspect(cut)


def test_pdf_page_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniff, "MAX_PAGES", 2)
    path = write(tmp_path, "long.pdf", make_pdf(3))
    with pytest.raises(TooManyPages, match="3 pages"):
        inspect(path)
    assert inspect(write(tmp_path, "ok.pdf", make_pdf(2))).page_count == 2


# --- PDF page dimensions: Textract's 9,000 pt a side ---------------------------------------------------------
@pytest.mark.parametrize(("sizes", "refused"), [
    ([(9000, 9000)], None),
    ([(595, 842), (9001, 842)], "page 2 is 9,001 pt (125.0 in) x 842 pt"),
    ([(842, 9001)], "page 1 is 842 pt (11.7 in) x 9,001 pt"),
    ([(14_400, 14_400)], "page 1 is 14,400 pt (200.0 in) x 14,400 pt"),
])
def test_pdf_page_dimension_limit(tmp_path: Path, sizes: list[tuple[float, float]], refused: str | None) -> None:
    path = write(tmp_path, "pages.pdf", make_pdf(sizes=sizes))
    if refused is None:
        assert inspect(path).page_count == len(sizes)
        return
    with pytest.raises(DocumentDimensionsTooLarge, match=re.escape(refused)):
        inspect(path)


def _one_page_pdf(pages_node: bytes, page: bytes) -> bytes:
    return assemble_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                         b"<< /Type /Pages /Kids [3 0 R] /Count 1 " + pages_node + b">>",
                         b"<< /Type /Page /Parent 2 0 R " + page + b">>"], b"/Root 1 0 R")


def test_a_tiny_pdf_declaring_a_huge_page_is_refused(tmp_path: Path) -> None:
    """The hostile case: a few hundred bytes that would cost a Textract job (and, rendered, gigabytes)."""
    data = _one_page_pdf(b"", b"/MediaBox [0 0 14400 14400] ")
    assert len(data) < 500
    with pytest.raises(DocumentDimensionsTooLarge, match="14,400 pt"):
        inspect(write(tmp_path, "huge.pdf", data))


def test_pdf_page_size_is_inherited_from_the_page_tree(tmp_path: Path) -> None:
    data = _one_page_pdf(b"/MediaBox [0 0 20000 600] ", b"")
    with pytest.raises(DocumentDimensionsTooLarge, match="20,000 pt"):
        inspect(write(tmp_path, "inherited.pdf", data))


def test_pdf_page_is_judged_by_its_visible_box(tmp_path: Path) -> None:
    """A huge MediaBox cropped to A4 shows (and renders) an A4 page."""
    data = _one_page_pdf(b"", b"/MediaBox [0 0 14400 14400] /CropBox [0 0 595 842] ")
    assert inspect(write(tmp_path, "cropped.pdf", data)).page_count == 1


def test_pdf_page_that_cannot_be_loaded_is_corrupt(tmp_path: Path) -> None:
    """The page tree counts two pages but names one object that is not a page."""
    data = assemble_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                         b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
                         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
                         b"(not a page)"], b"/Root 1 0 R")
    with pytest.raises(CorruptDocument, match="page 2 cannot be loaded"):
        inspect(write(tmp_path, "badpage.pdf", data))


# --- PNG ----------------------------------------------------------------------------------------------------
def test_png(tmp_path: Path) -> None:
    data = make_png()
    assert inspect(write(tmp_path, "a.png", data)) == DocumentInfo(PNG, len(data), 1, None)


def test_png_with_data_after_iend_is_fine(tmp_path: Path) -> None:
    assert inspect(write(tmp_path, "a.png", make_png() + b"trailing bytes")).page_count == 1


@pytest.mark.parametrize("cut", [12, 20, 40])
def test_truncated_png(tmp_path: Path, cut: int) -> None:
    data = make_png()
    with pytest.raises(CorruptDocument, match="PNG"):
        inspect(write(tmp_path, "cut.png", data[: len(data) - cut]))


def test_png_without_iend(tmp_path: Path) -> None:
    data = make_png()
    without_iend = data[: data.rfind(b"\x00\x00\x00\x00IEND")]
    with pytest.raises(CorruptDocument, match="IEND"):
        inspect(write(tmp_path, "noend.png", without_iend))


def test_png_not_starting_with_ihdr(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"a\x00b") + make_png()[8:]
    with pytest.raises(CorruptDocument, match="IHDR"):
        inspect(write(tmp_path, "odd.png", data))


@pytest.mark.parametrize(("width", "height"), [(10_000, 1), (1, 10_000)])
def test_png_at_the_pixel_limit(tmp_path: Path, width: int, height: int) -> None:
    assert inspect(write(tmp_path, "wide.png", make_png(width, height))).page_count == 1


@pytest.mark.parametrize(("width", "height"), [(10_001, 1), (1, 10_001), (20_000, 3)])
def test_png_over_the_pixel_limit(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(DocumentDimensionsTooLarge, match=f"the image is {width} x {height} pixels"):
        inspect(write(tmp_path, "wide.png", make_png(width, height)))


def _png_with_ihdr(ihdr: bytes, *, crc: bytes | None = None) -> bytes:
    chunk = png_chunk(b"IHDR", ihdr)
    if crc is not None:
        chunk = chunk[:-4] + crc
    return b"\x89PNG\r\n\x1a\n" + chunk + make_png()[33:]  # the IDAT and IEND of a real PNG


@pytest.mark.parametrize(("data", "phrase"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "does not start with an IHDR chunk"),  # a signature, then junk
    (_png_with_ihdr(struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0), crc=b"\x00\x00\x00\x00"), "checksum"),
    (_png_with_ihdr(struct.pack(">IIBBBB", 4, 3, 8, 0, 0, 0)), "not 13 bytes long"),
    (_png_with_ihdr(struct.pack(">IIBBBBB", 0, 3, 8, 0, 0, 0, 0)), "0 x 3 pixels"),
    (make_png()[:33] + png_chunk(b"tEXt", b"a\x00b") + png_chunk(b"IEND", b""), "no image data"),
])
def test_png_whose_structure_lies(tmp_path: Path, data: bytes, phrase: str) -> None:
    with pytest.raises(CorruptDocument, match=phrase):
        inspect(write(tmp_path, "lie.png", data))


# --- JPEG ---------------------------------------------------------------------------------------------------
def test_jpeg(tmp_path: Path) -> None:
    data = make_jpeg()
    assert inspect(write(tmp_path, "photo.jpg", data)) == DocumentInfo(JPEG, len(data), 1, None)


def test_jpeg_with_trailer_after_eoi_is_fine(tmp_path: Path) -> None:
    # A Motion Photo: the video follows the picture's EOI.
    data = make_jpeg() + b"\x00\x00\x00\x18ftypmp42" + b"\x00\xff\xd8" * 100
    assert inspect(write(tmp_path, "motion.jpg", data)).page_count == 1


def test_jpeg_without_eoi(tmp_path: Path) -> None:
    with pytest.raises(CorruptDocument, match="end-of-image"):
        inspect(write(tmp_path, "noeoi.jpg", make_jpeg()[:-2]))


def test_jpeg_cut_after_its_thumbnail(tmp_path: Path) -> None:
    """The EXIF thumbnail's EOI lies in the first half: a search of the bytes would find it."""
    data = make_jpeg()
    cut = data[: len(data) // 2]
    assert b"\xff\xd9" in cut
    with pytest.raises(CorruptDocument, match="JPEG"):
        inspect(write(tmp_path, "half.jpg", cut))


def test_jpeg_cut_inside_a_segment(tmp_path: Path) -> None:
    data = make_jpeg()
    with pytest.raises(CorruptDocument, match="segment"):
        inspect(write(tmp_path, "cut.jpg", data[:30]))


def test_jpeg_scan_crossing_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small read chunks put 0xFF bytes at chunk edges: a marker split over two reads must still be found,
    and a stuffed 0xFF00 split over two reads must not be taken for a marker."""
    data = make_jpeg()
    for chunk in (2, 3, 5, 7, 64):
        monkeypatch.setattr(images, "_CHUNK", chunk)
        assert inspect(write(tmp_path, "photo.jpg", data)).page_count == 1
        with pytest.raises(CorruptDocument):
            inspect(write(tmp_path, "noeoi.jpg", data[:-2]))


def test_jpeg_size_is_the_frames_not_the_thumbnails(tmp_path: Path) -> None:
    """make_jpeg's EXIF thumbnail declares 20,000 x 20,000 px: skipped with its segment, it is not read."""
    assert sof(20_000, 20_000) in make_jpeg()
    assert inspect(write(tmp_path, "photo.jpg", make_jpeg(10_000, 10_000))).page_count == 1


@pytest.mark.parametrize(("width", "height"), [(10_001, 16), (16, 10_001)])
def test_jpeg_over_the_pixel_limit(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(DocumentDimensionsTooLarge, match=f"{width} x {height} pixels"):
        inspect(write(tmp_path, "wide.jpg", make_jpeg(width, height)))


def test_progressive_jpeg_size_is_read_too(tmp_path: Path) -> None:
    data = make_jpeg(16, 16).replace(sof(16, 16), sof(12_000, 16, marker=0xC2))
    with pytest.raises(DocumentDimensionsTooLarge, match="12000 x 16 pixels"):
        inspect(write(tmp_path, "progressive.jpg", data))


@pytest.mark.parametrize(("data", "phrase"), [
    (b"\xff\xd8\xff" + bytes(range(1, 200)) * 4, "JPEG"),  # a start-of-image marker, then junk
    (make_jpeg()[:20] + b"\xff\xd9", "no frame header"),  # SOI, JFIF, EOI: no frame, no scan
    (make_jpeg(scan_first=True), "before any frame header"),
    (make_jpeg(16, 0), "16 x 0 pixels"),  # the height left to a DNL marker, which decoders refuse
])
def test_jpeg_whose_structure_lies(tmp_path: Path, data: bytes, phrase: str) -> None:
    with pytest.raises(CorruptDocument, match=phrase):
        inspect(write(tmp_path, "lie.jpg", data))


def test_real_jpeg_and_png_from_shared_data(tmp_path: Path) -> None:
    from tests.shared_data import TEXTRACT_DIR

    for name, media_type in (("receipt.jpg", JPEG), ("default_invoice_1.png", PNG)):
        path = require(TEXTRACT_DIR / name)
        assert inspect(path) == DocumentInfo(media_type, path.stat().st_size, 1, None)
        data = path.read_bytes()
        with pytest.raises(CorruptDocument):
            inspect(write(tmp_path, name, data[: len(data) // 2]))


# --- TIFF ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("directory_first", [False, True])
def test_tiff_pages(tmp_path: Path, big_endian: bool, directory_first: bool) -> None:
    for pages in (1, 3):
        data = make_tiff(pages, big_endian=big_endian, directory_first=directory_first)
        assert inspect(write(tmp_path, "scan.tif", data)) == DocumentInfo(TIFF, len(data), pages, None)


@pytest.mark.parametrize("big_endian", [False, True])
def test_tiff_first_directory_beyond_the_file(tmp_path: Path, big_endian: bool) -> None:
    data = set_first_ifd(make_tiff(1, big_endian=big_endian), 10_000)
    with pytest.raises(CorruptDocument, match="beyond the end"):
        inspect(write(tmp_path, "bad.tif", data))


def test_tiff_without_directory(tmp_path: Path) -> None:
    with pytest.raises(CorruptDocument, match="no image directory"):
        inspect(write(tmp_path, "bad.tif", set_first_ifd(make_tiff(1), 0)))


def test_tiff_cut_short(tmp_path: Path) -> None:
    # Directories after the pixels (libtiff): the cut loses a directory.
    data = make_tiff(3)
    with pytest.raises(CorruptDocument, match="TIFF"):
        inspect(write(tmp_path, "cut.tif", data[: len(data) - 20]))
    # Directory first: the directory survives, the pixels it points to do not.
    data = make_tiff(1, directory_first=True)
    with pytest.raises(CorruptDocument, match="image data"):
        inspect(write(tmp_path, "cut.tif", data[: len(data) - 10]))


def test_tiff_directory_loop(tmp_path: Path) -> None:
    data = bytearray(make_tiff(1))
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first:first + 2])[0]
    next_at = first + 2 + count * 12
    data[next_at:next_at + 4] = struct.pack("<I", first)  # the page points back at itself
    with pytest.raises(CorruptDocument, match="loop"):
        inspect(write(tmp_path, "loop.tif", bytes(data)))


def test_tiff_page_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sniff, "MAX_PAGES", 2)
    with pytest.raises(TooManyPages, match="more than 2 pages"):
        inspect(write(tmp_path, "long.tif", make_tiff(3)))
    assert inspect(write(tmp_path, "ok.tif", make_tiff(2))).page_count == 2



@pytest.mark.parametrize("big_endian", [False, True])
def test_tiff_page_over_the_pixel_limit(tmp_path: Path, big_endian: bool) -> None:
    ok = make_tiff(sizes=[(8, 8), (10_000, 1)], big_endian=big_endian)
    assert inspect(write(tmp_path, "ok.tif", ok)).page_count == 2
    wide = make_tiff(sizes=[(8, 8), (10_001, 1)], big_endian=big_endian)
    with pytest.raises(DocumentDimensionsTooLarge, match="page 2 is 10001 x 1 pixels"):
        inspect(write(tmp_path, "wide.tif", wide))


def test_tiff_page_without_a_width_is_corrupt(tmp_path: Path) -> None:
    data = bytearray(make_tiff(1))
    first = struct.unpack("<I", data[4:8])[0]
    assert struct.unpack("<H", data[first + 2:first + 4])[0] == 256  # the first entry: ImageWidth
    data[first + 2:first + 4] = struct.pack("<H", 65000)  # now a private tag
    with pytest.raises(CorruptDocument, match="no width or height"):
        inspect(write(tmp_path, "nowidth.tif", bytes(data)))
