"""What the engine may spend on one page: the pixels it renders or decodes for OCR, and so its memory and time.

A page's cost is set by the size it declares, not by the bytes it takes: a 424-byte PDF can declare a
14,400-point page, 40,000 pixels a side at 200 dpi (6.4 GB as a bitmap), and a small PNG of one colour can
decode to 100 megapixels. So a page is rendered at RENDER_DPI, or at fewer dots where that would exceed
MAX_PIXELS (or MAX_SIDE_PIXELS a side), and refused when even MIN_DPI would: text below one pixel per point
is too small for OCR to read, and rendering it anyway would only spend the budget on a blank result. Images
beyond Textract's own limit are refused as Textract refuses them; smaller ones are decoded reduced to the
budget.

Refusals are `PageTooLarge`: the emulated job ends FAILED with its message as the StatusMessage, the way a
Textract job fails on a document of a size it does not support."""

from __future__ import annotations

import math

from invoice_pipeline.domain.sniff import MAX_IMAGE_PIXELS
from PIL import Image

from invoice_local.engine.errors import PageTooLarge

RENDER_DPI = 200  # what the design prescribes for OCR: small print stays legible, a page OCRs in ~2 s
MIN_DPI = 72  # one pixel per point: 8-point text is 8 pixels high, about the least OCR reads
# Textract's limit for an image, as Register checks it (domain/sniff.py). Also the most the engine renders a
# page to on any side.
MAX_SIDE_PIXELS = MAX_IMAGE_PIXELS
# Three A4 pages at 200 dpi. rapidocr scales its input to 2,000 pixels on the long side anyway, so more
# pixels buy no accuracy; as PDFium's 4-byte bitmap and its RGB copy this is about 84 MB.
MAX_PIXELS = 12_000_000


def render_scale(width_pt: float, height_pt: float, page: int) -> float:
    """Pixels per point to render a page of this size at: RENDER_DPI, or less to stay within the budget."""
    if width_pt <= 0 or height_pt <= 0:
        raise PageTooLarge(f"Unsupported document size: page {page} has no area ({width_pt:g} x {height_pt:g} "
                           "points)")
    # PDFium rounds a bitmap's sides up: the budget's scales keep a pixel's margin on each side.
    scale = min(RENDER_DPI / 72, (MAX_SIDE_PIXELS - 1) / max(width_pt, height_pt),
                math.sqrt(MAX_PIXELS / ((width_pt + 1) * (height_pt + 1))) * 0.999)
    if scale < MIN_DPI / 72:
        raise PageTooLarge(
            f"Unsupported document size: page {page} measures {width_pt:.0f} x {height_pt:.0f} points "
            f"({width_pt / 72:.0f} x {height_pt / 72:.0f} inches); the local engine renders pages of at most "
            f"{MAX_PIXELS // 1_000_000} megapixels and {MAX_SIDE_PIXELS} pixels a side at {MIN_DPI} dpi or more")
    return scale


def check_image(width: int, height: int, page: int) -> None:
    """Refuse, before decoding it, an image Textract would refuse."""
    if max(width, height) > MAX_SIDE_PIXELS:
        raise PageTooLarge(f"Unsupported document size: image {page} is {width} x {height} pixels; images may "
                           f"have at most {MAX_SIDE_PIXELS} pixels on every side")


def reduction(width: int, height: int) -> int:
    """The whole factor an image of this size is reduced by before OCR, to stay within MAX_PIXELS."""
    return max(1, math.ceil(math.sqrt(width * height / MAX_PIXELS)))


def fit(image: Image.Image) -> Image.Image:
    """The image, decoded reduced to the budget where it is larger (a JPEG decodes at the reduced scale)."""
    factor = reduction(*image.size)
    if factor == 1:
        return image
    if image.format == "JPEG":
        image.draft(image.mode, (image.width // factor, image.height // factor))
        factor = reduction(*image.size)  # what the draft mode left to do
        if factor == 1:
            return image
    return image.reduce(factor)
