"""Hostile and careless uploads, built byte by byte (issue 10): one small function per kind, each returning the
bytes of one file. Nothing here is read from ../shared: every file is generated, so the suite runs anywhere.

The invoices that must go through (odd keys, a trailer after %%EOF, SQL in a vendor name) are the sample
generator's digital PDFs (invoice_local.samples), which the local engine reads to COMPLETED; everything else is
written here by hand: minimal PDFs with their cross-reference tables, PNG/JPEG/TIFF headers, other formats'
magic bytes."""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from tests.pdf_bytes import assemble_pdf

if TYPE_CHECKING:
    from invoice_local.samples.model import Invoice

# --- PDFs -------------------------------------------------------------------------------------
_PAGE_TEXT = b"BT /F1 11 Tf 72 720 Td (Terms and conditions, continued: nothing is due on this page.) Tj ET"


def pdf_file(objects: Sequence[bytes], *, root: int = 1, header: bytes = b"%PDF-1.7\n") -> bytes:
    """A PDF whose objects are numbered 1.. in order, with a correct xref table and trailer."""
    return assemble_pdf(objects, b"/Root %d 0 R" % root, header=header)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def pages_pdf(count: int, *, width: float = 612, height: float = 792, text: bytes = _PAGE_TEXT) -> bytes:
    """`count` pages of `width` x `height` points, every page drawing one shared content stream (so 3,000 pages
    cost ~60 bytes each) with a text layer long enough that a reader takes it as digital, not as a scan."""
    page_numbers = range(5, 5 + count)
    kids = b" ".join(b"%d 0 R" % n for n in page_numbers)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        _stream(text) if text else _stream(b""),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    box = b"[0 0 %s %s]" % (_num(width), _num(height))
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
                % box] * count
    return pdf_file(objects)


def _num(value: float) -> bytes:
    return (b"%d" % value) if float(value).is_integer() else (b"%g" % value)


# --- the sample invoices -----------------------------------------------------------------------------------------
@cache
def _sample(seed: int) -> Invoice:
    from invoice_local.samples.catalog import build_invoices

    return next(i for i in build_invoices(seed) if i.file == "de-rechnung.pdf")


def invoice_pdf(seed: int, *, vendor: str | None = None) -> bytes:
    """A one-page German invoice from the sample generator (distinct content per seed), optionally with another
    vendor name printed on it."""
    from invoice_local.samples.render import render_pdf

    invoice = _sample(seed)
    if vendor is not None:
        invoice = dataclasses.replace(invoice, vendor=dataclasses.replace(invoice.vendor, name=vendor))
    return render_pdf(invoice)


# --- images ------------------------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, idat: bytes | None = None, bit_depth: int = 1, color: int = 0) -> bytes:
    """A PNG of `width` x `height` (1-bit greyscale by default: a huge blank image compresses to almost
    nothing), its pixel data all zero unless `idat` is given."""
    if idat is None:
        row = b"\x00" * (1 + (width * bit_depth * (3 if color == 2 else 1) + 7) // 8)
        packer = zlib.compressobj(9)
        idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "JPEG", quality=50)
    return out.getvalue()


def tiff(ifd_offset: int, *, entries: bytes = b"", next_ifd: int = 0) -> bytes:
    """A little-endian TIFF header pointing at `ifd_offset`, with one directory of `entries` right after it."""
    count = len(entries) // 12
    return b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", count) + entries + struct.pack("<I", next_ifd)


def _tiff_entry(tag: int, kind: int, count: int, value: int) -> bytes:
    return struct.pack("<HHII", tag, kind, count, value)


# --- the kinds ---------------------------------------------------------------------------------------------------
# Each returns the file's bytes. Grouped as the README's "Named errors" table and issue 10's items group them.

def empty() -> bytes:
    return b""


def pdf_truncated() -> bytes:
    body = invoice_pdf(11)
    return body[: len(body) // 2]


def pdf_header_only() -> bytes:
    return b"%PDF-1.7\n"


def pdf_encrypted() -> bytes:
    """RC4 with a user password (fpdf2's standard security handler): no reader opens it without the password."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.cell(text="Invoice 4711 - total 119.00 EUR")
    doc.set_encryption(owner_password="owner", user_password="secret")
    return bytes(doc.output())


def pdf_zero_pages() -> bytes:
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_corrupt_xref() -> bytes:
    """Every offset in the xref table wrong, and startxref pointing into the middle of an object: readers
    rebuild the table by scanning (PDFium does), so the document itself is still readable."""
    body = invoice_pdf(12)
    xref = body.rindex(b"\nxref\n") + 1
    start = body.index(b"0000000000 65535 f", xref)
    end = body.index(b"trailer", start)
    entries = body[start:end].split(b"\n")
    broken = [entries[0]] + [b"%010d 00000 n " % (7 * i + 3) for i in range(1, len(entries) - 1)] + [b""]
    tail = body[end:]
    tail = tail[: tail.index(b"startxref")] + b"startxref\n%d\n%%%%EOF\n" % (xref // 2)
    return body[:start] + b"\n".join(broken) + tail


def pdf_page_loop() -> bytes:
    """A page tree whose node lists itself among its kids."""
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


def pdf_too_many_pages() -> bytes:
    return pages_pdf(3001)


def pdf_max_pages() -> bytes:
    return pages_pdf(3000)


def pdf_huge_page() -> bytes:
    """The issue's few-hundred-byte PDF: one blank 14,400 x 14,400 pt page (200 inches; Textract's limit is 9,000
    points), which a reader rendering it at 200 dpi turns into 1.6 gigapixels."""
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>"])


def pdf_trailing_garbage() -> bytes:
    """A valid invoice followed by 100 KB after its %%EOF (a mail gateway's signature, a bad download tool)."""
    return invoice_pdf(13) + b"\n" + bytes(range(256)) * 400


def png_too_wide() -> bytes:
    return png(10_001, 16)


def png_bomb() -> bytes:
    """20,000 x 20,000 (400 megapixels) in about 50 KB: a decompression bomb."""
    return png(20_000, 20_000)


def jpeg_too_wide() -> bytes:
    return jpeg(12_000, 8)


def png_over_10_mb() -> bytes:
    """A PNG of 10 MB + 1 KB that is under 10,000 pixels a side: stored (uncompressed) zlib blocks of noise."""
    import random

    width, height = 2048, 1707  # 8-bit RGB: 6,145 bytes a row
    rng = random.Random(10)
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return png(width, height, idat=zlib.compress(raw, 0), bit_depth=8, color=2)


def jpeg_over_10_mb() -> bytes:
    """A small valid JPEG carrying 10.5 MB of comment segments: structurally fine, over Textract's image limit."""
    small = jpeg(64, 64)
    comment = b"\xff\xfe" + struct.pack(">H", 65535) + b"x" * 65533
    return small[:2] + comment * 168 + small[2:]


def png_truncated() -> bytes:
    body = png(64, 64, bit_depth=8)
    return body[: len(body) - 20]


def png_corrupt_pixels() -> bytes:
    """Every chunk well formed, the pixel data not a zlib stream: only decoding the image finds out."""
    return png(64, 64, idat=b"\x78\x9c" + bytes(range(200, 256)) * 4)


def jpeg_header_only() -> bytes:
    return jpeg(32, 32)[:20]


def tiff_ifd_past_end() -> bytes:
    return tiff(0x7FFF_0000)


def tiff_ifd_loop() -> bytes:
    entries = (_tiff_entry(256, 4, 1, 8) + _tiff_entry(257, 4, 1, 8) + _tiff_entry(258, 3, 1, 8)
               + _tiff_entry(262, 3, 1, 1))
    return tiff(8, entries=entries, next_ifd=8)


def tiff_strips_past_end() -> bytes:
    entries = (_tiff_entry(256, 4, 1, 100) + _tiff_entry(257, 4, 1, 100) + _tiff_entry(273, 4, 1, 5_000_000)
               + _tiff_entry(279, 4, 1, 10_000))
    return tiff(8, entries=entries)


# Other formats named .pdf: their own magic bytes and a little of their structure.
def elf_as_pdf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, 62, 1) + bytes(200)


def zip_as_pdf() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("invoice.txt", "Invoice 1 total 10.00\n" * 50)
    return buf.getvalue()


def gif_as_pdf() -> bytes:
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00," \
           b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def html_as_pdf() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Session expired</body></html>\n"


def utf16_text_as_pdf() -> bytes:
    return "\ufeffInvoice 1\r\nTotal: 10.00 EUR\r\n".encode("utf-16-le")


def heic_as_pdf() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(100)


def bigtiff_as_pdf() -> bytes:
    return b"II+\x00\x08\x00\x00\x00" + bytes(64)


# Polyglots: another format that carries "%PDF-" within its first 1,024 bytes.
def zip_holding_pdf() -> bytes:
    """An uncompressed ZIP whose member is a PDF: "%PDF-" is at byte 30-something, yet the file is a ZIP."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("invoice.pdf", invoice_pdf(14))
    return buf.getvalue()


def gif_pdf_polyglot() -> bytes:
    """A GIF image that a PDF reader also opens: GIF header, then a whole PDF."""
    return gif_as_pdf() + invoice_pdf(15)


def html_with_pdf_marker() -> bytes:
    return b"<!DOCTYPE html><html><body><!-- %PDF-1.7 -->Login</body></html>\n" + b" " * 200


# Content that goes through: what it says must be stored as text, never run.
SQL_VENDOR = "Robert'); DROP TABLE invoices;--"
SCRIPT_VENDOR = "<script>alert(1)</script> GmbH"


def sql_in_vendor() -> bytes:
    return invoice_pdf(16, vendor=SQL_VENDOR)


def script_in_vendor() -> bytes:
    return invoice_pdf(17, vendor=SCRIPT_VENDOR)


# E-invoices (Factur-X/ZUGFeRD, bare CII): XML that expands past any memory ("billion laughs").
def _billion_laughs() -> bytes:
    entities = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY lol0 "lol">{entities}]>\n'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
        "<rsm:ExchangedDocument><ID>&lol9;</ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>\n"
    ).encode()


def xml_bomb() -> bytes:
    return _billion_laughs()


def xml_external_entity() -> bytes:
    """A CII invoice whose seller is an external entity naming a local file: read, it would leak the file."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"'
        b' xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
        b"<rsm:ExchangedDocument><ram:ID>&secret;</ram:ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>\n"
    )


def xml_50_mb() -> bytes:
    """A CII root around a 50 MB comment: well-formed, and 2.5 times the reader's limit."""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
            b"<!-- " + b"x" * (50 * 1024 * 1024) + b" --></rsm:CrossIndustryInvoice>\n")


def facturx_xml_bomb() -> bytes:
    """A hybrid e-invoice PDF (an attachment named factur-x.xml) whose XML is the bomb."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.cell(text="Rechnung 2026-0815 - Gesamtbetrag 119,00 EUR (see the attached factur-x.xml)")
    doc.embed_file(bytes=_billion_laughs(), basename="factur-x.xml", desc="Factur-X")
    return bytes(doc.output())


# --- the batch --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upload:
    kind: str
    key: str
    body: bytes


# Keys S3 accepts (any UTF-8, up to 1,024 bytes) that break naive code: path tricks, characters a terminal or a
# URL treats specially, the longest key there is. Each carries a distinct good invoice.
KEYS: dict[str, str] = {
    "key_dot_dot": "incoming/../../etc/passwd.pdf",
    "key_double_slash": "incoming//nested//twice.pdf",
    "key_unicode": "incoming/Rechnung Müller € 請求書 🧾 e\u0301.pdf",
    "key_rtl_override": "incoming/invoice-\u202efdp.exe",
    "key_terminal_escapes": "incoming/\x1b[2J\x1b[1;31mPAY NOW\x1b[0m\x07.pdf",
    "key_control_chars": "incoming/ctl\x01\x02\x08\x0b\x0c\x1f\x7f\u0085\ufeff.pdf",
    "key_url_syntax": "incoming/a b+c%20d%2F..%00?x=1&y=2#frag.pdf",
    "key_sql": "incoming/x'; DROP TABLE documents; --.pdf",
    "key_1024_bytes": "incoming/" + "k" * (1024 - len("incoming/") - len(".pdf")) + ".pdf",
}

# kind -> (key suffix, generator): every file kind above, named as a careless sender would name it.
FILES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "empty": (".pdf", empty),
    "pdf_truncated": (".pdf", pdf_truncated),
    "pdf_header_only": (".pdf", pdf_header_only),
    "pdf_encrypted": (".pdf", pdf_encrypted),
    "pdf_zero_pages": (".pdf", pdf_zero_pages),
    "pdf_page_loop": (".pdf", pdf_page_loop),
    "pdf_corrupt_xref": (".pdf", pdf_corrupt_xref),
    "pdf_trailing_100kb": (".pdf", pdf_trailing_garbage),
    "pdf_3000_pages": (".pdf", pdf_max_pages),
    "pdf_3001_pages": (".pdf", pdf_too_many_pages),
    "pdf_huge_page": (".pdf", pdf_huge_page),
    "png_10001_wide": (".png", png_too_wide),
    "png_bomb_20000": (".png", png_bomb),
    "jpeg_12000_wide": (".jpg", jpeg_too_wide),
    "png_over_10mb": (".png", png_over_10_mb),
    "jpeg_over_10mb": (".jpg", jpeg_over_10_mb),
    "png_truncated": (".png", png_truncated),
    "png_corrupt_pixels": (".png", png_corrupt_pixels),
    "jpeg_header_only": (".jpg", jpeg_header_only),
    "tiff_ifd_past_end": (".tif", tiff_ifd_past_end),
    "tiff_ifd_loop": (".tif", tiff_ifd_loop),
    "tiff_strips_past_end": (".tif", tiff_strips_past_end),
    "elf_as_pdf": (".pdf", elf_as_pdf),
    "zip_as_pdf": (".pdf", zip_as_pdf),
    "gif_as_pdf": (".pdf", gif_as_pdf),
    "html_as_pdf": (".pdf", html_as_pdf),
    "utf16_text_as_pdf": (".pdf", utf16_text_as_pdf),
    "heic_as_pdf": (".pdf", heic_as_pdf),
    "bigtiff_as_pdf": (".pdf", bigtiff_as_pdf),
    "zip_holding_pdf": (".pdf", zip_holding_pdf),
    "gif_pdf_polyglot": (".pdf", gif_pdf_polyglot),
    "html_with_pdf_marker": (".pdf", html_with_pdf_marker),
    "sql_in_vendor": (".pdf", sql_in_vendor),
    "script_in_vendor": (".pdf", script_in_vendor),
}
EINVOICE_FILES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "xml_bomb": (".xml", xml_bomb),
    "xml_external_entity": (".xml", xml_external_entity),
    "xml_50mb": (".xml", xml_50_mb),
    "facturx_xml_bomb": (".pdf", facturx_xml_bomb),
}


def uploads() -> list[Upload]:
    """Every kind once, each under a key of its own (`incoming/hostile/<kind><suffix>`, or the trick key)."""
    files = {**FILES, **EINVOICE_FILES}
    out = [Upload(kind, f"incoming/hostile/{kind}{suffix}", make()) for kind, (suffix, make) in files.items()]
    out += [Upload(kind, key, invoice_pdf(20 + n)) for n, (kind, key) in enumerate(KEYS.items())]
    return out


def good_invoice() -> Upload:
    """The normal invoice sent after the batch."""
    return Upload("good_invoice", "incoming/after/good-invoice.pdf", invoice_pdf(99))
