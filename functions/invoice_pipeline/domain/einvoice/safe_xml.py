"""Parsing untrusted XML: a size limit first, then lxml with every way out closed, then no DTD at all.

- Size: an e-invoice is a few KB to a few MB (an XRechnung embedding its attachments as base64 reaches a few
  MB); over MAX_XML_BYTES the bytes are refused before the parser sees them.
- The parser: `resolve_entities=False` (an entity reference stays a reference, nothing expands), `load_dtd=False`
  and `no_network=True` (no file or URL is ever fetched), `huge_tree=False` (libxml2's own depth and text-size
  limits stay on).
- No DTD: neither CII nor UBL has one, so any document type declaration is refused (UnsafeXml). That covers
  entity expansion ("billion laughs") and external entities (`SYSTEM "file:///etc/passwd"`) alike, whether
  or not the parser would have expanded them. The bytes are checked before parsing (cheap, and the message
  names the cause) and the parsed tree after it (a declaration in UTF-16 escapes a byte search).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from invoice_pipeline.errors import EInvoiceTooLarge, MalformedEInvoice, UnsafeXml

__all__ = ["MAX_XML_BYTES", "parse_xml"]

MAX_XML_BYTES = 20 * 1024 * 1024

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENTITY_TROUBLE = re.compile(r"entity|amplification", re.IGNORECASE)
# Byte order marks of the encodings whose bytes hide "<!DOCTYPE" from a byte search.
_WIDE_BOMS = (("utf-32", (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")), ("utf-16", (b"\xff\xfe", b"\xfe\xff")))


def _as_ascii_compatible(data: bytes) -> bytes:
    """`data` as UTF-8 when it is UTF-16 or UTF-32 (by its byte order mark or its zero bytes), else as it is."""
    encoding = next((name for name, boms in _WIDE_BOMS if data.startswith(boms)), None)
    if encoding is None and b"\x00" in data[:4]:
        encoding = "utf-32" if data[:4].count(b"\x00") == 3 else "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    if encoding is None:
        return data
    return data.decode(encoding, errors="replace").encode("utf-8")


def _parser() -> Any:
    # A new parser per call: lxml parsers are not thread-safe, and local mode runs handlers on threads.
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )


def parse_xml(data: bytes, *, what: str = "the XML") -> Any:
    """The root element of `data`, or a named error: EInvoiceTooLarge, UnsafeXml, MalformedEInvoice."""
    if len(data) > MAX_XML_BYTES:
        raise EInvoiceTooLarge(
            f"{what} is {len(data) / 1048576:.1f} MB, over the {MAX_XML_BYTES // 1048576} MB limit for an e-invoice"
        )
    if _DOCTYPE.search(_as_ascii_compatible(data)):
        raise UnsafeXml(f"{what} declares a DTD or entities (<!DOCTYPE>/<!ENTITY>), which e-invoices never do:"
                        " refused unread")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        if _ENTITY_TROUBLE.search(str(exc)):  # libxml2's own limits met an entity bomb the checks above missed
            raise UnsafeXml(f"{what} was refused while parsing: {exc}") from None
        raise MalformedEInvoice(f"{what} is not well-formed XML: {exc}") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration, or bytes lxml cannot decode
        raise MalformedEInvoice(f"{what} cannot be read as XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml(f"{what} declares a DTD (<!DOCTYPE>), which e-invoices never do: refused")
    return root
