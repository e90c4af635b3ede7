"""A PDF page's words from its text layer, or the page rendered for OCR when it has no usable text layer.

PDFium gives characters, not words: each character comes with a loose box (the font's full height, so that
the characters of one line share a top and a bottom whatever their shapes) and we group them ourselves.
PDFium's own word breaks (generated spaces) are kept, and a break is added wherever the next character does not
sit just right of the previous one on the same baseline: generators that position every glyph absolutely
write no spaces at all.

Every PDFium call holds `PDFIUM_LOCK` (PDFium is not thread-safe and local mode runs jobs on threads). The
pages are produced one at a time, so a scanned 300-page PDF is never held rendered in memory, and OCR runs
outside the lock. A page is rendered within the budget of engine/budget.py, whatever size it declares.

A page with nothing but text on it (no image, no vector drawing) is read from its text layer however little
text it has: rendering it would show OCR the same letters, at a hundred times the cost. A blank page is read
as no words. So a 3,000-page PDF of short or empty pages takes seconds, not hours of OCR."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from invoice_pipeline.domain.sniff import PDFIUM_LOCK
from PIL import Image

from invoice_local.engine.budget import render_scale
from invoice_local.engine.errors import unreadable
from invoice_local.engine.model import Box, Word

# A page needs this many visible characters to count as digital. Scans often carry a few characters of real
# text (a stamp, a scanner's page footer) that must not hide the scanned body from OCR.
MIN_TEXT_CHARS = 40
# Below this share of readable characters the text layer is a font without a Unicode map (glyph ids that print
# as garbage): rendering and OCR read it better.
MIN_READABLE_SHARE = 0.85
# An image covering this much of the page, with little text, is a scan carrying a token text layer.
SCAN_IMAGE_SHARE = 0.6
SCAN_MAX_CHARS = 200

_BREAKS = frozenset(" \t\r\n\u00a0\u2002\u2003\u2009\u200b\u3000\ufffe")


@dataclass
class PdfPage:
    number: int
    width: float  # points, as displayed (after /Rotate)
    height: float
    words: list[Word] = field(default_factory=list)
    image: Image.Image | None = None  # set when the page must be OCR'd; its pixels span width x height


@dataclass(frozen=True)
class _Char:
    text: str
    box: Box


def open_pdf(content: bytes) -> pdfium.PdfDocument:
    with PDFIUM_LOCK:
        try:
            return pdfium.PdfDocument(content)
        except pdfium.PdfiumError as exc:
            message = str(exc).lower()
            if "password" in message or "security" in message:
                raise unreadable("the PDF is password-protected") from exc
            raise unreadable(f"the PDF cannot be read ({exc})") from exc


def read_pages(pdf: pdfium.PdfDocument) -> Iterator[PdfPage]:
    """Each page in order: its words, or (no usable text layer) its 200 dpi rendering."""
    with PDFIUM_LOCK:
        count = len(pdf)
    if count < 1:
        raise unreadable("the PDF has no pages")
    for index in range(count):
        with PDFIUM_LOCK:
            page = _read_page(pdf, index)
        yield page  # outside the lock: the caller's OCR of this page must not hold up other jobs' PDFium calls


def _read_page(pdf: pdfium.PdfDocument, index: int) -> PdfPage:
    page = pdf[index]
    try:
        # The displayed area: media box and crop box intersected, inherited from the page tree where a page
        # names none (get_cropbox would fall back to a Letter-sized default there).
        left, bottom, right, top = page.get_bbox()
        rotation = page.get_rotation() % 360
        raw_w, raw_h = right - left, top - bottom
        width, height = (raw_h, raw_w) if rotation in (90, 270) else (raw_w, raw_h)
        result = PdfPage(number=index + 1, width=width, height=height)
        # Checked for every page, rendered or not: the size is refused as Textract refuses an oversized page,
        # whatever is on it, and a text page of that size would be rendered if it held a drawing.
        scale = render_scale(width, height, index + 1)

        def to_display(x0: float, y0: float, x1: float, y1: float) -> Box:
            # PDF user space (y up) -> top-left origin of the page as a viewer shows it.
            u0, u1 = x0 - left, x1 - left
            v0, v1 = top - y1, top - y0
            if rotation == 90:
                return Box(raw_h - v1, u0, raw_h - v0, u1)
            if rotation == 180:
                return Box(raw_w - u1, raw_h - v1, raw_w - u0, raw_h - v0)
            if rotation == 270:
                return Box(v0, raw_w - u1, v1, raw_w - u0)
            return Box(u0, v0, u1, v1)

        textpage = page.get_textpage()
        try:
            chars, readable, total, mapping_errors = _chars(textpage, to_display)
        finally:
            textpage.close()
        readable_text = readable >= MIN_READABLE_SHARE * total and mapping_errors < (1 - MIN_READABLE_SHARE) * total
        usable = (
            total >= MIN_TEXT_CHARS
            and readable_text
            and not (total < SCAN_MAX_CHARS and _image_share(page, raw_w * raw_h) >= SCAN_IMAGE_SHARE)
        )
        if usable or ((total == 0 or readable_text) and _text_only(page)):
            result.words = _words(chars)
        else:
            bitmap = page.render(scale=scale, rotation=0, may_draw_forms=True)
            result.image = bitmap.to_pil().convert("RGB")
            bitmap.close()
        return result
    finally:
        page.close()


def _chars(textpage: pdfium.PdfTextPage, to_display: Any) -> tuple[list[_Char | None], int, int, int]:
    """The page's characters in content order (None marks a word break), and counts of visible, readable and
    unmapped characters for the usability test."""
    count = textpage.count_chars()
    angles: list[float] = []
    raw: list[tuple[str, Box, float] | None] = []
    readable = total = mapping_errors = 0
    for i in range(count):
        code = pdfium_c.FPDFText_GetUnicode(textpage, i)
        ch = chr(code) if 0 < code < 0x110000 else "\ufffd"
        if ch in _BREAKS or pdfium_c.FPDFText_IsGenerated(textpage, i) == 1:
            raw.append(None)
            continue
        category = unicodedata.category(ch)
        if category.startswith("C") and ch != "\ufffd":
            raw.append(None)  # control and private-use codes: layout artefacts, not text
            if category == "Co":
                total += 1
            continue
        x0, y0, x1, y1 = textpage.get_charbox(i, loose=True)
        if x1 - x0 <= 0 and y1 - y0 <= 0:
            raw.append(None)
            continue
        total += 1
        if ch != "\ufffd":
            readable += 1
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage, i) == 1:
            mapping_errors += 1
        angle = math.degrees(pdfium_c.FPDFText_GetCharAngle(textpage, i)) % 360
        angles.append(round(angle / 90) % 4)
        raw.append((ch, to_display(x0, y0, x1, y1), angle))
    # Text running in the page's main direction is read; text at a right angle to it (a sideways margin note)
    # would only scatter single letters over the layout.
    main = max(set(angles), key=angles.count) if angles else 0
    chars: list[_Char | None] = []
    for item in raw:
        if item is None:
            chars.append(None)
            continue
        ch, box, angle = item
        if round(angle / 90) % 4 != main or abs(((angle + 45) % 90) - 45) > 10:
            chars.append(None)
            continue
        chars.append(_Char(ch, box))
    return chars, readable, total, mapping_errors


def _text_only(page: pdfium.PdfPage) -> bool:
    """Whether the page draws nothing but text (or nothing at all): no image, path or shading, in form
    XObjects either, and no annotation (a form field's appearance is drawn, not in the text layer), so that
    its text layer is all there is to read."""
    if pdfium_c.FPDFPage_GetAnnotCount(page) > 0:
        return False
    return all(obj.type in (pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_FORM)
               for obj in page.get_objects(max_depth=3))


def _image_share(page: pdfium.PdfPage, area: float) -> float:
    """The share of the page covered by its largest image (a scan is one image the size of the page)."""
    largest = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        x0, y0, x1, y1 = obj.get_bounds()
        largest = max(largest, max(0.0, x1 - x0) * max(0.0, y1 - y0))
    return largest / area if area > 0 else 0.0


def _words(chars: list[_Char | None]) -> list[Word]:
    words: list[Word] = []
    current: list[_Char] = []

    def flush() -> None:
        if current:
            text = unicodedata.normalize("NFC", "".join(c.text for c in current))
            words.append(Word(text, Box.union(c.box for c in current), 99.0))
            current.clear()

    for ch in chars:
        if ch is None:
            flush()
            continue
        if current and not _continues(current[-1], ch):
            flush()
        current.append(ch)
    flush()
    return words


def _continues(prev: _Char, nxt: _Char) -> bool:
    """Whether `nxt` is the next letter of the same word: on the same line and just right of `prev`."""
    a, b = prev.box, nxt.box
    height = max(min(a.height, b.height), 1e-6)
    if a.y_overlap(b) < 0.5 * height:
        return False
    gap = b.left - a.right
    # Kerning makes neighbours overlap a little. A space is 0.25-0.33 em and a loose box about 1.1 em high,
    # so a gap above 0.15 box heights is a space that the generator positioned instead of writing.
    return -0.3 * height <= gap <= 0.15 * height
