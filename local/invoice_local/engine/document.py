"""A file's bytes to pages of words, whatever the file is: the text layer of a digital PDF page, OCR for a
scanned page and for every image (PNG, JPEG, single- and multi-page TIFF).

The type comes from the bytes (the same sniffing Register does), never from a name."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

from invoice_pipeline.domain.sniff import JPEG, PDF, PDFIUM_LOCK, PNG, TIFF, describe_bytes, sniff_media_type
from PIL import Image, ImageOps, UnidentifiedImageError

from invoice_local.engine import budget, ocr
from invoice_local.engine.errors import PageTooLarge, unreadable
from invoice_local.engine.model import Page
from invoice_local.engine.text_layer import open_pdf, read_pages


def read_document(content: bytes, *, first_page: int = 1) -> Iterator[Page]:
    """The pages of one file, numbered from `first_page`."""
    if not content:
        raise unreadable("the file is empty")
    media_type = sniff_media_type(content[:1024])
    if media_type == PDF:
        yield from _pdf_pages(content, first_page)
    elif media_type in (PNG, JPEG, TIFF):
        yield from _image_pages(content, first_page)
    else:
        raise unreadable(f"not a PDF, PNG, JPEG or TIFF file: the bytes look like {describe_bytes(content[:1024])}")


def _pdf_pages(content: bytes, first_page: int) -> Iterator[Page]:
    pdf = open_pdf(content)
    try:
        started = time.perf_counter()
        for pdf_page in read_pages(pdf):
            number = first_page + pdf_page.number - 1
            if pdf_page.image is None:
                page = Page(number, pdf_page.width, pdf_page.height, pdf_page.words, "text")
            else:
                page = ocr.recognize(pdf_page.image, number)
                pdf_page.image.close()
            page.seconds = time.perf_counter() - started
            yield page
            started = time.perf_counter()
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _image_pages(content: bytes, first_page: int) -> Iterator[Page]:
    try:
        # Pillow's decompression-bomb guard stays on (it refuses hundreds of megapixels before decoding); the
        # engine's budget refuses what Textract would and decodes the rest reduced to what OCR uses.
        image = Image.open(io.BytesIO(content))
        frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise PageTooLarge(f"Unsupported document size: {exc}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise unreadable(f"the image cannot be read ({exc})") from exc
    for index in range(frames):
        started = time.perf_counter()
        try:
            image.seek(index)
            budget.check_image(image.width, image.height, index + 1)  # before a pixel is decoded
            # A phone photo is stored sideways with an EXIF note to turn it: OCR needs it upright.
            frame = ImageOps.exif_transpose(budget.fit(image)).convert("RGB")
        except Image.DecompressionBombError as exc:
            raise PageTooLarge(f"Unsupported document size: page {index + 1} of the image: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise unreadable(f"page {index + 1} of the image cannot be read ({exc})") from exc
        page = ocr.recognize(frame, first_page + index)
        page.seconds = time.perf_counter() - started
        yield page
