"""The structure of PNG, JPEG and TIFF files: walked, not searched, so that a file cut short, or a signature
followed by anything else, is told apart from an image a decoder can read; and each image's width and height
in pixels, read from its header (PNG IHDR, JPEG frame header, TIFF image directory) without decoding a pixel.

Every walk reads a bounded amount at a time: the chunk, segment or directory in hand. The limits themselves
(size, pages, pixels) are sniff.py's; this module only says what the bytes hold or raises CorruptDocument."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

from invoice_pipeline.errors import CorruptDocument

__all__ = ["PNG_SIGNATURE", "jpeg_dimensions", "png_dimensions", "tiff_pages"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# A PNG or JPEG dimension field allows sizes no decoder accepts; PNG itself caps each side at 2**31 - 1.
_PNG_MAX_SIDE = 2**31 - 1

_CHUNK = 1024 * 1024


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


# --- PNG ---------------------------------------------------------------------------------------------------
def png_dimensions(f: BinaryIO, file_size: int) -> tuple[int, int]:
    """(width, height) after walking the chunk list up to IEND. Following the lengths (rather than looking for
    "IEND" in the tail) catches a file cut inside its image data even when something was appended after the
    cut. The IHDR chunk must come first, hold 13 bytes and match its CRC (a signature followed by anything
    else fails here); at least one IDAT chunk must come before IEND, or there is no image to decode."""
    ihdr = _read_at(f, len(PNG_SIGNATURE), 8 + 13 + 4)
    if len(ihdr) < 8 or ihdr[4:8] != b"IHDR":
        raise CorruptDocument("the PNG is damaged: it does not start with an IHDR chunk")
    if struct.unpack(">I", ihdr[:4])[0] != 13 or len(ihdr) < 25:
        raise CorruptDocument("the PNG is damaged: its IHDR chunk is not 13 bytes long")
    if struct.unpack(">I", ihdr[21:25])[0] != zlib.crc32(ihdr[4:21]):
        raise CorruptDocument("the PNG is damaged: its IHDR chunk fails its checksum")
    width, height = struct.unpack(">II", ihdr[8:16])
    if not (0 < width <= _PNG_MAX_SIDE and 0 < height <= _PNG_MAX_SIDE):
        raise CorruptDocument(f"the PNG is damaged: it declares {width} x {height} pixels")
    offset = len(PNG_SIGNATURE) + len(ihdr)
    has_data = False
    while True:
        header = _read_at(f, offset, 8)
        if len(header) < 8:
            raise CorruptDocument("the PNG is truncated: it ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            if not has_data:
                raise CorruptDocument("the PNG is damaged: it has no image data (IDAT chunk)")
            return width, height
        has_data = has_data or kind == b"IDAT"
        offset += 8 + length + 4  # header, data, CRC
        if offset > file_size:
            raise CorruptDocument("the PNG is truncated: a chunk runs past the end of the file")


# --- JPEG --------------------------------------------------------------------------------------------------
# Markers that stand alone, without a length field: TEM and the restart markers (SOI is handled apart).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_EOI, _SOI, _SOS = 0xD9, 0xD8, 0xDA
# Frame headers (SOF0-SOF15), which give the image's size: every 0xFFCn but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_dimensions(f: BinaryIO, file_size: int) -> tuple[int, int]:
    """(width, height) from the frame header, after walking the marker segments, and the entropy-coded data
    between them, until the EOI marker.

    Looking at the last two bytes is not enough: phones append data after EOI (Motion Photo videos, maker
    trailers), and an EXIF thumbnail holds an EOI of its own that a search of the raw bytes would find in a
    photo cut in half. Segments are skipped by their lengths, so the thumbnail (and its own frame header) is
    never taken for the picture's. A scan before any frame header, or no frame header at all, cannot be
    decoded; nor can a height of 0 (to be given later by a DNL marker, which libjpeg refuses). A JPEG without
    its EOI is refused too, although libjpeg decodes what is there with a warning: a photo cut short has lost
    its bottom rows, where an invoice's totals usually are, and an analysis of the rest would look complete."""
    f.seek(2)
    size: tuple[int, int] | None = None
    while True:
        marker = _next_jpeg_marker(f)
        if marker is None:
            raise CorruptDocument("the JPEG is truncated: it ends without an end-of-image marker")
        if marker == _EOI:
            if size is None:
                raise CorruptDocument("the JPEG is damaged: it has no frame header (SOF), so no image")
            return size
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
        if marker in _SOF and size is None:
            size = _frame_size(f.read(min(length - 2, 5)), marker)
        elif marker == _SOS and size is None:
            raise CorruptDocument("the JPEG is damaged: its image data comes before any frame header (SOF)")
        f.seek(end)


def _frame_size(frame: bytes, marker: int) -> tuple[int, int]:
    """The frame header starts: sample precision (1 byte), height, width (2 bytes each, big-endian)."""
    if len(frame) < 5:
        raise CorruptDocument(f"the JPEG is damaged: frame header 0xFF{marker:02X} is too short")
    height, width = struct.unpack(">HH", frame[1:5])
    if width == 0 or height == 0:
        raise CorruptDocument(f"the JPEG is damaged or unsupported: its frame header gives {width} x {height}"
                              " pixels")
    return width, height


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
_IMAGE_WIDTH, _IMAGE_LENGTH = 256, 257
_STRIP_OFFSETS, _STRIP_BYTE_COUNTS, _TILE_OFFSETS, _TILE_BYTE_COUNTS = 273, 279, 324, 325
_READ_TAGS = frozenset({_IMAGE_WIDTH, _IMAGE_LENGTH, _STRIP_OFFSETS, _STRIP_BYTE_COUNTS, _TILE_OFFSETS,
                        _TILE_BYTE_COUNTS})
_FIELD_SIZES = {3: 2, 4: 4}  # SHORT and LONG: the only types these tags may have in a classic TIFF


def tiff_pages(f: BinaryIO, file_size: int, *, too_many: Callable[[int], None]) -> list[tuple[int, int]]:
    """(width, height) of every page, by walking the chain of image file directories (one IFD per page) and
    checking on the way that every directory, and the image data it points to, lies inside the file.
    `too_many(pages)` is called with each new page count and raises past the caller's limit: how far past it
    an over-long file goes does not matter, and a loop of a million directories is never walked."""
    f.seek(0)
    header = f.read(8)
    if len(header) < 8:
        raise CorruptDocument("the TIFF is truncated: its header is incomplete")
    order = "<" if header.startswith(b"II") else ">"
    (offset,) = struct.unpack(order + "I", header[4:8])
    if offset == 0:
        raise CorruptDocument("the TIFF is damaged: it has no image directory")
    seen: set[int] = set()
    pages: list[tuple[int, int]] = []
    while offset != 0:
        if offset in seen:
            raise CorruptDocument("the TIFF is damaged: its image directories form a loop")
        seen.add(offset)
        if offset + 2 > file_size:
            raise CorruptDocument(
                f"the TIFF is truncated: image directory {len(pages) + 1} at byte {offset} lies beyond the end"
                f" of the file ({file_size} bytes)"
            )
        (count,) = struct.unpack(order + "H", _read_at(f, offset, 2))
        entries = _read_at(f, offset + 2, count * 12 + 4)
        if len(entries) < count * 12 + 4:
            raise CorruptDocument(f"the TIFF is truncated inside image directory {len(pages) + 1}")
        too_many(len(pages) + 1)
        pages.append(_tiff_page(f, order, entries[: count * 12], file_size, len(pages) + 1))
        (offset,) = struct.unpack(order + "I", entries[count * 12:])
    return pages


def _tiff_page(f: BinaryIO, order: str, entries: bytes, file_size: int, page: int) -> tuple[int, int]:
    """The page's size, after checking that its image data lies inside the file: writers that put the
    directory before the pixels leave an intact directory when the file is cut, and the strip (or tile)
    offsets and byte counts then point past the end."""
    fields: dict[int, list[int]] = {}
    for pos in range(0, len(entries), 12):
        tag, kind, count = struct.unpack(order + "HHI", entries[pos:pos + 8])
        if tag not in _READ_TAGS:
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
    width_px, height_px = (fields.get(_IMAGE_WIDTH) or [0])[0], (fields.get(_IMAGE_LENGTH) or [0])[0]
    if width_px == 0 or height_px == 0:
        raise CorruptDocument(f"the TIFF is damaged: page {page} gives no width or height (ImageWidth,"
                              " ImageLength)")
    return width_px, height_px
