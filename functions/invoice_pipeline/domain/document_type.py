"""What kind of document an OCR engine read: "381" (credit note) when the document's own title says so, and
None (unknown) otherwise.

The e-invoice engine reads the code the XML states (BT-3). An OCR engine has only the words on the page, and
they tell little: a document titled "Invoice" may be a commercial invoice (380), a self-billed one (389), a
prepayment invoice (386) or an insurer's (575), and the German "Gutschrift" names a self-billed invoice as
often as a credit note (EN16931_Gutschrift.pdf in the shared data is a 389 titled "Gutschrift"). So the OCR
engines claim 381 only from an unambiguous credit-note title, never 380, and leave the rest null.

Sign convention (schemas/invoice.schema.json `document_type`, the same for every engine): amounts are stored
as the document states them, never sign-flipped; a credit note is told apart by this code, not by its sign.

Where the title is read: the LINE blocks of the invoice's first page (Amazon Textract returns them with
AnalyzeExpense; the local engine does not), and the label of the invoice number (INVOICE_RECEIPT_ID), which
Textract and the local engine both return ("Credit note no.:"). A line counts as the title when it is a
credit-note phrase followed at most by a number ("CREDIT NOTE", "Avoir n° AV-12", "Nota di credito 45/2024"),
so a sentence that merely mentions a credit note is not one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["CREDIT_NOTE", "CREDIT_NOTE_TITLES", "is_credit_note_title", "mark_document_types"]

CREDIT_NOTE = "381"

# The local engine's seven languages (English, German, French, Dutch, Spanish, Italian, Portuguese), accents and
# case folded. German has none: "Gutschrift" is ambiguous (see above), and "Rechnungskorrektur" is a corrected
# invoice (384), which an OCR engine cannot tell from an invoice by its amounts either.
CREDIT_NOTE_TITLES: tuple[str, ...] = (
    "credit note", "credit memo", "creditnote", "credit nota", "creditnota", "creditfactuur", "facture d'avoir",
    "avoir", "note de credit", "nota di credito", "nota de credito",
)
_TITLE = re.compile(r"^(?:" + "|".join(re.escape(t) for t in CREDIT_NOTE_TITLES) + r")(?![a-z])(?P<tail>.*)$")
_NUMBER_MARKERS = frozenset({"no", "nr", "nro", "n", "num", "number", "nummer", "numero", "ref", "id"})
_TAIL_TOKEN = re.compile(r"[^\s:#№°º.,()]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def is_credit_note_title(text: str) -> bool:
    """A credit-note phrase, then nothing but number markers and at most one token holding a digit."""
    match = _TITLE.match(_fold(text))
    if match is None:
        return False
    tokens = [t for t in _TAIL_TOKEN.findall(match["tail"]) if t not in _NUMBER_MARKERS]
    return not tokens or (len(tokens) == 1 and any(c.isdigit() for c in tokens[0]))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _titles(expense: dict[str, Any], first: int | None) -> Iterable[tuple[str, int | None]]:
    """(text, page) of what may hold the title, in one expense document of an invoice whose first page is
    `first` (None: unknown, every line counts)."""
    for item in _list(expense.get("SummaryFields")):
        item = _dict(item)
        if str(_dict(item.get("Type")).get("Text") or "").upper() == "INVOICE_RECEIPT_ID":
            label = _dict(item.get("LabelDetection")).get("Text")
            if isinstance(label, str):
                page = item.get("PageNumber")
                yield label, page if isinstance(page, int) else None
    for block in (_dict(b) for b in _list(expense.get("Blocks"))):
        page = block.get("Page") if isinstance(block.get("Page"), int) else None
        if block.get("BlockType") == "LINE" and isinstance(block.get("Text"), str) and page in (first, None):
            yield block["Text"], page


def mark_document_types(responses: Sequence[dict[str, Any]], invoices: list[dict[str, Any]]) -> None:
    """Set each normalized invoice's `document_type` ("381" or None) from the expense documents it was built
    from (its provenance.expense_indexes), and name the title it came from in provenance.fields."""
    by_index: dict[int, list[dict[str, Any]]] = {}
    for response in responses:
        for expense in _list(_dict(response).get("ExpenseDocuments")):
            index = _dict(expense).get("ExpenseIndex")
            if isinstance(index, int):
                by_index.setdefault(index, []).append(expense)
    for invoice in invoices:
        invoice["document_type"] = None
        provenance = invoice.get("provenance") or {}
        first = min(provenance.get("pages") or [0]) or None
        for index in provenance.get("expense_indexes") or []:
            found = next(((text, page) for expense in by_index.get(index, [])
                          for text, page in _titles(expense, first) if is_credit_note_title(text)), None)
            if found is not None:
                invoice["document_type"] = CREDIT_NOTE
                provenance.setdefault("fields", {})["document_type"] = {
                    "page": found[1], "bbox": None, "label": "title", "raw": found[0][:2000],
                }
                break
