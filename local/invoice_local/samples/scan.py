"""Turn a clean PDF page into what a cheap office scanner produces: grey paper, a skewed page, soft focus, sensor
noise and JPEG artefacts. Every random choice comes from the numpy Generator passed in, so a seed fixes the bytes.

The JPEG is written with fixed encoder settings (quality, no optimisation pass, baseline, no EXIF, fixed DPI), so
the same pixels always encode to the same bytes with a given Pillow/libjpeg."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

SCAN_DPI = 170
PAPER = 242  # scanned white is never 255
INK = 28  # nor is black 0
JPEG_QUALITY = 78


def render_page(pdf_bytes: bytes, dpi: int = SCAN_DPI, page_index: int = 0) -> Image.Image:
    """One page, rendered by pdfium in 8-bit greyscale: the clean image before any degradation."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        page = document[page_index]
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        image = bitmap.to_pil().convert("L")
        page.close()
        return image
    finally:
        document.close()


def degrade(clean: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, float]:
    """The scanner simulation; returns the image and the skew angle in degrees (counter-clockwise positive)."""
    pixels = np.asarray(clean, dtype=np.float32)
    pixels = INK + pixels * ((PAPER - INK) / 255.0)
    # Uneven lighting: the lid does not close flat, one side of the page comes out a little darker.
    height, width = pixels.shape
    shade = 1.0 - rng.uniform(0.03, 0.07) * np.linspace(0.0, 1.0, width, dtype=np.float32)
    pixels = pixels * (shade if rng.random() < 0.5 else shade[::-1])[np.newaxis, :]
    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))

    angle = float(rng.uniform(1.0, 2.0) * rng.choice([-1.0, 1.0]))  # a page laid on the glass by hand
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=PAPER)
    image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.55, 0.85))))

    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0.0, 6.0, size=(height, width)).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8)), angle


def encode_jpeg(image: Image.Image, dpi: int = SCAN_DPI) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False, dpi=(dpi, dpi))
    return buffer.getvalue()


def scan_jpeg(pdf_bytes: bytes, rng: np.random.Generator) -> bytes:
    """The first page of pdf_bytes as a scanned-looking greyscale JPEG."""
    image, _angle = degrade(render_page(pdf_bytes), rng)
    return encode_jpeg(image)
