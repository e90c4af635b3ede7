"""Identifying and checking uploads by their bytes. Every file is made here, in tmp_path, except the hybrid
e-invoices, which come from the shared data set."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from invoice_pipeline.domain import sniff
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
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    TooManyPages,
    UnsupportedDocumentType,
)

from tests.shared_data import INVOICES_DIR, require, skip_or_fail


# --- file makers --------------------------------------------------------------------------------------------
def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def inspect(path: Path) -> DocumentInfo:
    return inspect_document(path, size=path.stat().st_size)


def make_pdf(pages: int = 1, attachments: dict[str, bytes] | None = None) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    for name, data in (attachments or {}).items():
        pdf.new_attachment(name).set_data(data)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


def assemble_pdf(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF from numbered object bodies (object n is objects[n-1]), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d " % (len(objects) + 1) + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


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
    raw = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def make_jpeg() -> bytes:
    """A JPEG with the structure of a phone photo: JFIF, an EXIF segment whose thumbnail carries its own
    SOI..EOI, tables, a frame, and a scan whose entropy-coded data holds stuffed 0xFF bytes and restart
    markers. Only the structure matters to the checker, so the scan data is arbitrary."""
    thumbnail = b"\xff\xd8\xff\xdb\x00\x04\x00\x00" + b"thumb" + b"\xff\xd9"
    entropy = b"\x12\x34\xff\x00\x56" * 50 + b"\xff\xd0" + b"\x78\xff\x00" * 50 + b"\xff\xd1" + b"\x9a" * 200
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xE1, b"Exif\x00\x00" + b"\x00" * 32 + thumbnail + b"\x00" * 16)
        + segment(0xDB, b"\x00" + bytes(range(64)))
        + segment(0xC0, b"\x08\x00\x10\x00\x10\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + b"\x00" * 16)
        + segment(0xDD, b"\x00\x04")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + entropy
        + b"\xff\xd9"
    )


def make_tiff(pages: int = 1, *, big_endian: bool = False, directory_first: bool = False) -> bytes:
    """A real, uncompressed multi-page greyscale TIFF (8x8 px per page). By default each page's pixels come
    before its directory, as libtiff writes; `directory_first` puts the directory before the pixels."""
    order = ">" if big_endian else "<"
    out = bytearray(b"MM\x00*" if big_endian else b"II*\x00")
    out += b"\x00\x00\x00\x00"  # first IFD offset, patched below
    link_at = 4
    width = height = 8
    tags = 8
    ifd_size = 2 + tags * 12 + 4
    for page in range(pages):
        pixels = bytes((page * 16 + i) % 256 for i in range(width * height))
        if directory_first:
            ifd_at, data_at = len(out), len(out) + ifd_size
        else:
            data_at, ifd_at = len(out), len(out) + len(pixels)
        entries = [
            (256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
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


def test_pdf_with_garbage_after_the_trailer_window(tmp_path: Path) -> None:
    with pytest.raises(CorruptDocument):
        inspect(write(tmp_path, "padded.pdf", make_pdf(1) + b"\x00" * 2000))


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
        monkeypatch.setattr(sniff, "_CHUNK", chunk)
        assert inspect(write(tmp_path, "photo.jpg", data)).page_count == 1
        with pytest.raises(CorruptDocument):
            inspect(write(tmp_path, "noeoi.jpg", data[:-2]))


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
