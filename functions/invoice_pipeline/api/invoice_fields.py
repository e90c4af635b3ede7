"""The invoice fields that came with e-invoices (issue 11), from a stored `invoices` row to the API's Invoice:
which engine read it (its provenance says), its document type, and what only a structured invoice states
(migration 0005). The OCR engines leave the last ones null, and so does every invoice stored before them."""

from __future__ import annotations

from typing import Any

__all__ = ["structured_fields"]


def _amount(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def structured_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Invoice keyword arguments from a row of `repository.invoices_for` (SELECT * FROM invoices)."""
    provenance = row.get("provenance") or {}
    return {
        "engine": provenance.get("engine"),
        "document_type": row.get("document_type"),
        "delivery_date": row.get("delivery_date"),
        "prepaid": _amount(row.get("prepaid")),
        "allowances_charges": row.get("allowances_charges"),
        "tax_breakdown": row.get("tax_breakdown"),
        "payment": row.get("payment"),
    }
