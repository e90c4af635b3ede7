"""Business rules over a normalized document (schemas/invoice.schema.json): COMPLETED, or NEEDS_REVIEW with
the reasons.

First the JSON Schema: a document that fails it is our own bug (Parse wrote something the contract forbids),
so it raises SchemaViolation and the execution fails instead of reaching a person as a doubtful invoice.
Then the rules, each with a stable code that the API, the database and the review screen show. An error
sends the document to review; warnings are recorded and the document still completes.

Arithmetic is exact (Decimal from the decimal strings, never float) and compared within a tolerance that only
absorbs rounding; see `arithmetic_tolerance`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from invoice_pipeline.domain.status import InvoiceStatus
from invoice_pipeline.schemas import validate_against

__all__ = [
    "CONFLICT_FIELDS",
    "EARLIEST_PLAUSIBLE_DATE",
    "FUTURE_DATE_GRACE",
    "ISO_4217_CODES",
    "KEY_FIELDS",
    "LOW_CONFIDENCE_THRESHOLD",
    "RULES",
    "SCHEMA",
    "Issue",
    "ValidationResult",
    "arithmetic_tolerance",
    "minor_unit",
    "outcome",
    "validate_document",
]

Severity = Literal["error", "warning"]

SCHEMA = "invoice.schema.json"

# Every rule, by its stable code. Renaming a code is an interface change (stored issues, API filters).
RULES: dict[str, Severity] = {
    "NO_INVOICE": "error",
    "MISSING_TOTAL": "error",
    "MISSING_INVOICE_NUMBER": "error",
    "MISSING_VENDOR": "error",
    "MISSING_INVOICE_DATE": "warning",
    "MISSING_CURRENCY": "error",
    "UNKNOWN_CURRENCY": "error",
    "DATE_IN_FUTURE": "error",
    "DATE_TOO_OLD": "error",
    "DUE_BEFORE_ISSUE": "error",
    "LINE_ITEMS_MISMATCH": "error",
    "TOTAL_MISMATCH": "error",
    "AMOUNT_DUE_MISMATCH": "warning",
    "LOW_CONFIDENCE": "warning",
    "CONFLICTING_VALUES": "warning",
    # Found by the e-invoice reader (domain/einvoice) and carried in the invoice's provenance.findings.
    "EINVOICE_XSD_INVALID": "error",
    "EINVOICE_PDF_MISMATCH": "error",
    "EINVOICE_PDF_NOT_COMPARED": "warning",
    # Found by Persist against the invoices already stored (domain/duplicates.py): holds it for review.
    "POSSIBLE_DUPLICATE": "error",
}

# An invoice dated a little ahead of our clock is normal: time zones, and issuers who date an invoice for the
# next working day. Beyond that the date was most likely misread (a swapped day and month, a wrong year).
FUTURE_DATE_GRACE = timedelta(days=3)
# Nothing this pipeline receives is older; a date before it is a misread year ("1924", "0024").
EARLIEST_PLAUSIBLE_DATE = date(2000, 1, 1)

# Confidence is 0..1. Textract reports 95-100 % for a clean printed value and drops below 80 % for smudged or
# ambiguous ones; Parse lowers a winner's confidence further when candidates conflicted. A warning only: it
# points a reviewer at a field without stopping the document.
LOW_CONFIDENCE_THRESHOLD = Decimal("0.80")
# The fields a payment depends on; keys as Parse writes them into `confidence`.
KEY_FIELDS: tuple[str, ...] = ("vendor.name", "invoice_number", "invoice_date", "total", "currency")
CONFLICT_FIELDS: tuple[str, ...] = ("total", "subtotal", "tax", "invoice_number")
_AMOUNT_FIELDS = frozenset({"total", "subtotal", "tax", "discount", "amount_due"})

# ISO 4217 (list one), plus codes withdrawn since 2014 that still appear on archived invoices (HRK, LTL, LVL,
# BYR, MRO, STD, VEF, CUC, SLL, ZWL, ANG). XTS (testing) and XXX (no currency) are ISO codes but no invoice is
# in them, so they are left out. money.ISO_4217 holds the same idea for Parse; one set should serve both.
ISO_4217_CODES: frozenset[str] = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BYR", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
    "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "LTL", "LVL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRO", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STD", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
    "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VEF", "VES", "VND", "VUV", "WST", "XAF", "XAG",
    "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA",
    "YER", "ZAR", "ZMW", "ZWG", "ZWL",
})

# ISO 4217 minor units where they are not 2 (all other codes: cents).
_MINOR_UNIT_DIGITS: dict[str, int] = {
    **dict.fromkeys(("BIF", "BYR", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                     "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


@dataclass(frozen=True)
class Issue:
    code: str
    severity: Severity
    # None for an issue about the whole document (NO_INVOICE); Persist attaches those to every invoice.
    invoice_index: int | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ValidationResult:
    status: InvoiceStatus
    issues: list[Issue]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "issues": [issue.to_dict() for issue in self.issues]}


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount the currency is written in: 0.01 for most, 1 for JPY, 0.001 for KWD. Unknown or
    missing currencies count in cents, the common case."""
    digits = _MINOR_UNIT_DIGITS.get(currency or "", 2)
    return Decimal(1).scaleb(-digits)


def arithmetic_tolerance(terms: int, currency: str | None) -> Decimal:
    """The largest difference accepted when `terms` printed amounts are added up and compared with another
    printed amount: one minor unit per term (at least one).

    Why: every printed amount is rounded to the minor unit, so each is off its exact value by at most half a
    unit. A sum of k printed amounts compared with a printed result (computed from exact values, as some
    systems do, e.g. a subtotal from unrounded line amounts) can differ by (k + 1) / 2 units; one unit per
    term covers that for every k >= 1, and Swiss rounding to 0.05 (at most 0.02) once tax is added in. No
    percentage term, deliberately: what this check exists to catch is a misread digit, and a relative one hides
    exactly that on large invoices (0.5 % of 10,000.00 lets a total be off by 50.00). Signs do not matter:
    the difference is compared in absolute value, so credit notes with negative amounts work unchanged. What
    rounding cannot explain (whole-unit cash rounding, a shipping charge the schema has no field for) goes to
    review, where a person can see it."""
    return minor_unit(currency) * max(terms, 1)


# --- the entry point ----------------------------------------------------------------------------------------
def validate_document(doc: dict[str, Any], *, today: date) -> ValidationResult:
    """Schema first (raises SchemaViolation), then every rule on every invoice. `today` is passed in, not read
    from the clock, so a replayed document is judged the same way and tests are deterministic."""
    validate_against(SCHEMA, doc)
    issues: list[Issue] = []
    invoices = doc["invoices"]
    if not invoices:
        issues.append(_issue("NO_INVOICE", None, None, "the document contains no invoice"))
    for index, invoice in enumerate(invoices):
        issues.extend(_InvoiceRules(index, invoice, today).run())
    return ValidationResult(status=outcome(i.severity for i in issues), issues=issues)


def outcome(severities: Iterable[str | None]) -> InvoiceStatus:
    """What a set of issues decides, for a document or for one of its invoices: any error sends it to review."""
    return InvoiceStatus.NEEDS_REVIEW if any(s == "error" for s in severities) else InvoiceStatus.COMPLETED


def _issue(code: str, index: int | None, field: str | None, message: str) -> Issue:
    return Issue(code=code, severity=RULES[code], invoice_index=index, field=field, message=message)


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _fmt(value: Decimal) -> str:
    return f"{value:f}"


class _InvoiceRules:
    """The rules for one invoice. A class only to share the invoice, its index and the parsed amounts."""

    def __init__(self, index: int, invoice: dict[str, Any], today: date) -> None:
        self.index = index
        self.inv = invoice
        self.today = today
        self.currency: str | None = invoice.get("currency")
        self.issues: list[Issue] = []
        self.subtotal = _amount(invoice.get("subtotal"))
        self.tax = _amount(invoice.get("tax"))
        self.discount = _amount(invoice.get("discount"))
        self.total = _amount(invoice.get("total"))
        self.amount_due = _amount(invoice.get("amount_due"))

    def add(self, code: str, field: str | None, message: str) -> None:
        self.issues.append(_issue(code, self.index, field, message))

    def run(self) -> list[Issue]:
        self.required_fields()
        self.currency_code()
        self.dates()
        self.line_items()
        self.totals()
        self.amount_due_check()
        self.confidence()
        self.conflicts()
        self.reader_findings()
        return self.issues

    # --- presence ---------------------------------------------------------------------------------------
    def required_fields(self) -> None:
        if self.total is None:
            self.add("MISSING_TOTAL", "total", "no total amount was found")
        if not _text(self.inv.get("invoice_number")):
            self.add("MISSING_INVOICE_NUMBER", "invoice_number", "no invoice number was found")
        if not _text((self.inv.get("vendor") or {}).get("name")):
            self.add("MISSING_VENDOR", "vendor.name", "no vendor name was found")
        if self.inv.get("invoice_date") is None:
            self.add("MISSING_INVOICE_DATE", "invoice_date", "no invoice date was found")

    def currency_code(self) -> None:
        if self.currency is None:
            self.add("MISSING_CURRENCY", "currency", "no currency was found or could be inferred")
        elif self.currency not in ISO_4217_CODES:
            self.add("UNKNOWN_CURRENCY", "currency", f"{self.currency} is not an ISO 4217 currency code")

    # --- dates ------------------------------------------------------------------------------------------
    def dates(self) -> None:
        issued = _date(self.inv.get("invoice_date"))
        due = _date(self.inv.get("due_date"))
        if issued is not None and issued > self.today + FUTURE_DATE_GRACE:
            self.add(
                "DATE_IN_FUTURE", "invoice_date",
                f"invoice date {issued} is more than {FUTURE_DATE_GRACE.days} days after today"
                f" ({self.today})",
            )
        for field, value in (("invoice_date", issued), ("due_date", due)):
            if value is not None and value < EARLIEST_PLAUSIBLE_DATE:
                self.add("DATE_TOO_OLD", field, f"{field.replace('_', ' ')} {value} is before"
                                                f" {EARLIEST_PLAUSIBLE_DATE}: most likely a misread year")
        if issued is not None and due is not None and due < issued:
            self.add("DUE_BEFORE_ISSUE", "due_date", f"due date {due} is before the invoice date {issued}")

    # --- arithmetic -------------------------------------------------------------------------------------
    def line_items(self) -> None:
        """Line amounts add up to the subtotal (the contract: subtotal is the sum of the lines, before the
        document-level discount and before tax). Without a subtotal, and when no tax is charged, they add up
        to the total less the discount. With tax but no subtotal there is nothing exact to compare with: the
        lines may be net or gross. Only when every line has an amount: a single missing one would make any
        sum meaningless. Document-level allowances and charges (`allowances_charges`, an e-invoice's BG-20 and
        BG-21) are already applied to its subtotal, so they are applied to the lines' sum before comparing."""
        lines = self.inv.get("line_items") or []
        amounts = [_amount(line.get("amount")) for line in lines]
        if not amounts or any(a is None for a in amounts):
            return
        line_sum = sum((a for a in amounts if a is not None), Decimal(0))
        adjustments = _allowances_and_charges(self.inv)
        counted = f"{len(amounts)} lines"
        if self.subtotal is not None and adjustments:
            # An e-invoice's subtotal (BT-109) already has its document-level allowances and charges applied.
            line_sum += sum(adjustments, Decimal(0))
            expected, described = self.subtotal, f"the subtotal is {_fmt(self.subtotal)}"
            terms = len(amounts) + len(adjustments)
            counted += f" less allowances plus charges ({len(adjustments)})"
        elif self.subtotal is not None:
            expected, described, terms = self.subtotal, f"the subtotal is {_fmt(self.subtotal)}", len(amounts)
        elif (self.tax is None or self.tax == 0) and self.total is not None:
            expected, described, terms = self.total, f"the total is {_fmt(self.total)}", len(amounts)
            if self.discount is not None:
                # The discount was taken off the lines' sum to reach the total: add it back to compare.
                expected += self.discount
                described += f" after a discount of {_fmt(self.discount)}"
                terms += 1
        else:
            return
        tolerance = arithmetic_tolerance(terms, self.currency)
        difference = line_sum - expected
        if abs(difference) > tolerance:
            self.add(
                "LINE_ITEMS_MISMATCH", "line_items",
                f"the line amounts ({counted}) add up to {_fmt(line_sum)} but {described}:"
                f" off by {_fmt(abs(difference))} (tolerance {_fmt(tolerance)})",
            )

    def totals(self) -> None:
        """total = subtotal + tax - discount, where tax and discount count as zero when absent. Needs a
        subtotal and a total; a missing tax is not assumed to be hidden in the total: if the numbers do not
        add up without it, the tax was probably not read, and a person should look."""
        if self.subtotal is None or self.total is None:
            return
        tax = self.tax or Decimal(0)
        discount = self.discount or Decimal(0)
        expected = self.subtotal + tax - discount
        terms = 1 + sum(value is not None for value in (self.tax, self.discount))
        tolerance = arithmetic_tolerance(terms, self.currency)
        difference = self.total - expected
        if abs(difference) <= tolerance:
            return
        formula = f"subtotal {_fmt(self.subtotal)}"
        if self.tax is not None:
            formula += f" + tax {_fmt(self.tax)}"
        if self.discount is not None:
            formula += f" - discount {_fmt(self.discount)}"
        message = (
            f"total {_fmt(self.total)} differs from {formula} = {_fmt(expected)} by {_fmt(abs(difference))}"
            f" (tolerance {_fmt(tolerance)})"
        )
        # A reviewer's first question: was another total printed that does add up?
        fitting = [
            alt for alt in _alternative_values(self.inv, "total")
            if (value := _amount(alt)) is not None and abs(value - expected) <= tolerance
        ]
        if fitting:
            message += f"; the alternative total {fitting[0]} would match"
        self.add("TOTAL_MISMATCH", "total", message)

    def amount_due_check(self) -> None:
        """Amount due normally equals the total, or is less after a prepayment; more than the total usually
        means a misread, but can be an honest carried-over balance, hence only a warning. "More" is measured
        away from zero, so a credit note's amount due of -120 against a total of -100 is "more" too."""
        if self.amount_due is None or self.total is None:
            return
        direction = -1 if self.total < 0 else 1
        excess = (self.amount_due - self.total) * direction
        tolerance = arithmetic_tolerance(1, self.currency)
        if excess > tolerance:
            self.add(
                "AMOUNT_DUE_MISMATCH", "amount_due",
                f"amount due {_fmt(self.amount_due)} is larger than the total {_fmt(self.total)}",
            )

    # --- extraction quality -----------------------------------------------------------------------------
    def confidence(self) -> None:
        scores = self.inv.get("confidence") or {}
        for field in KEY_FIELDS:
            if field not in scores or _field_value(self.inv, field) is None:
                continue
            score = Decimal(str(scores[field]))
            if score < LOW_CONFIDENCE_THRESHOLD:
                self.add(
                    "LOW_CONFIDENCE", field,
                    f"{field} was read with confidence {_fmt(score)}, below {_fmt(LOW_CONFIDENCE_THRESHOLD)}",
                )

    def conflicts(self) -> None:
        for field in CONFLICT_FIELDS:
            chosen = _field_value(self.inv, field)
            others = [v for v in _alternative_values(self.inv, field) if not _same(field, v, chosen)]
            if others:
                shown = ", ".join(dict.fromkeys(others))
                self.add(
                    "CONFLICTING_VALUES", field,
                    f"{field} {chosen if chosen is not None else '(none)'} was chosen; the document also"
                    f" shows {shown}",
                )


    def reader_findings(self) -> None:
        """What the e-invoice reader noticed (the XML fails its XSD, the PDF shows another total): each finding
        becomes the issue of the same code."""
        for found in (self.inv.get("provenance") or {}).get("findings") or []:
            self.add(found["code"], found.get("field"), found["message"])


def _allowances_and_charges(invoice: dict[str, Any]) -> list[Decimal]:
    """Document-level allowances (negative) and charges (positive) as they change the lines' sum."""
    out = []
    for entry in invoice.get("allowances_charges") or []:
        value = _amount(entry.get("amount"))
        if value is not None:
            out.append(value if entry.get("charge") else -value)
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _date(value: Any) -> date | None:
    # The schema's format check has already proven the string a valid calendar date.
    return date.fromisoformat(value) if isinstance(value, str) else None


def _field_value(invoice: dict[str, Any], field: str) -> Any:
    """A dotted field name ("vendor.name") looked up in the invoice."""
    value: Any = invoice
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _alternative_values(invoice: dict[str, Any], field: str) -> list[str]:
    alternatives = (invoice.get("alternatives") or {}).get(field) or []
    values = (alt.get("value") for alt in alternatives)
    return [value for value in values if isinstance(value, str) and value.strip()]


def _same(field: str, a: Any, b: Any) -> bool:
    """Equal as amounts ("12.5" and "12.50") for amount fields; otherwise equal ignoring case and spaces,
    which is how the same invoice number printed twice in different fonts comes back."""
    if field in _AMOUNT_FIELDS:
        x, y = _amount(a), _amount(b)
        if x is not None and y is not None:
            return x == y
    if isinstance(a, str) and isinstance(b, str):
        return "".join(a.split()).casefold() == "".join(b.split()).casefold()
    return bool(a == b)
