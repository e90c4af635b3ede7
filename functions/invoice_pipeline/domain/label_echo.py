"""Textract sometimes repeats a field's label inside its value: INVOICE_RECEIPT_ID labelled "Invoice #" with the
value "Invoice #1258", TOTAL labelled "Total:" with "Total: $50.00". `strip_label_echo` removes such an echo
before the value is parsed, for every field:

- the field's own label, when the value starts with it (compared on letters and digits, case and accents
  ignored) and something remains after it;
- for identifiers, also a leading document-number label when no label was detected: document words followed by
  a number marker ("Invoice No. 42", "Rechnung Nr. 42", "Facture n° 42", "Invoice #42"). Without a marker the
  words may be the number's own series ("INV 50089", "RE 1001") and are kept."""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = " \t#:;.,-–|№°º"
_DOCUMENT_WORDS = (
    r"invoice|inv|bill|receipt|document|doc|credit\s+note|tax\s+invoice|rechnung|rechnungs|beleg|gutschrift|"
    r"facture|avoir|factuur|creditnota|factura|fattura|fatura|nota\s+de\s+credito|nota\s+di\s+credito"
)
_MARKERS = r"no|nr|nro|num|number|nummer|numero|n[°º]|n\.\s?[°º]|№|#|id|ref"
_GENERIC_ID_LABEL = re.compile(
    rf"^\s*(?:{_DOCUMENT_WORDS})\s*[-.]?\s*(?:{_MARKERS})(?![a-z])\.?\s*[:#]?\s*(?=\S)", re.IGNORECASE
)


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def _key(text: str) -> str:
    return "".join(_fold_char(c) for c in text)


def _after_prefix(value: str, label_key: str) -> str | None:
    """The rest of `value` after the characters that spell `label_key` (letters and digits only), or None
    when the value does not start with the label."""
    matched = 0
    for index, char in enumerate(value):
        folded = _fold_char(char)
        if not folded:
            if matched == 0 and not char.isspace() and char not in _SEPARATORS:
                return None
            continue
        if not label_key.startswith(folded, matched):
            return None
        matched += len(folded)
        if matched == len(label_key):
            return value[index + 1:]
    return None


def strip_label_echo(value: str | None, label: str | None, *, identifier: bool = False) -> str | None:
    """`value` without a label echoed at its start; the value unchanged when nothing meaningful would remain."""
    if not value:
        return value
    rest: str | None = None
    label_key = _key(label or "")
    if label_key:
        after = _after_prefix(value, label_key)
        # "Total 12" labelled "Total": the rest is the value. A rest that starts with a letter or digit
        # glued to the label ("Total12", "INV-7" under "INV") is part of the value itself.
        if after is not None and (not after or after[0].isspace() or after[0] in ":#.;,|№"):
            rest = after
    if rest is None and identifier:
        match = _GENERIC_ID_LABEL.match(value)
        if match is not None:
            rest = value[match.end():]
    if rest is None:
        return value
    rest = rest.lstrip(_SEPARATORS)
    if not re.search(r"\w", rest):
        return value
    if identifier and not re.search(r"\d", rest) and re.search(r"\d", value):
        return value
    return rest
