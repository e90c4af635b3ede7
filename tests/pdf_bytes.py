"""PDF files written byte by byte, for tests that need a PDF's structure exactly as they describe it."""

from __future__ import annotations

from collections.abc import Sequence

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def assemble_pdf(objects: Sequence[bytes], trailer: bytes = b"/Root 1 0 R", *, header: bytes = HEADER) -> bytes:
    """A PDF from numbered object bodies (object n is objects[n-1]), with a correct xref table; `trailer` is
    what the trailer dictionary holds besides /Size."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d " % (len(objects) + 1) + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
