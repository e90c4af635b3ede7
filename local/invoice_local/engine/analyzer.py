"""The local engine end to end: bytes -> pages of words -> layout -> fields, parties, line items -> one
GetExpenseAnalysis-shaped response page per job.

Pages are split into invoices the way a reader would: a page that carries, near its top, an invoice number
different from the current invoice's starts a new invoice (a batch scan of several invoices); pages without a
number continue the current one. Each invoice becomes one ExpenseDocument whose fields carry their own page
numbers, so `normalize_expense` has nothing to regroup."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from invoice_local.engine import lexicon as lx
from invoice_local.engine.currency import CurrencyGuess, find_currency_code
from invoice_local.engine.document import read_document
from invoice_local.engine.errors import AnalysisCancelled
from invoice_local.engine.fields import Candidate, Chosen, find_candidates, select, unlabelled_dates
from invoice_local.engine.layout import PageLayout, build_layout
from invoice_local.engine.line_items import Table, cell_text, cell_words, find_tables, table_segments
from invoice_local.engine.model import Box, Page
from invoice_local.engine.parties import Parties, PartyText, find_parties
from invoice_local.engine.response import (
    Detection,
    PageSize,
    expense_document,
    expense_field,
    group_id,
    response_page,
)

_NUMBER_ZONE = 0.45  # an invoice number this high on a page announces a new invoice


class LocalExpenseEngine:
    """Stands in for Textract's expense analysis (implements the emulation's `ExpenseEngine` protocol).

    `analyze(content)` reads one file; `analyze_files(contents)` reads several files as consecutive pages of
    one document (the eval's per-page renderings); `analyze_pages(pages)` starts from words already read
    (tests, other readers). All return a list of response pages, as GetExpenseAnalysis's NextToken pages."""

    def __init__(self) -> None:
        self.last_pages: list[Page] = []  # what the last call read: page sources and timings

    def analyze(self, content: bytes, *, bucket: str = "", key: str = "",
                cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        return self.analyze_files([content], cancel=cancel)

    def analyze_files(self, contents: Sequence[bytes], *, cancel: threading.Event | None = None) -> list[
            dict[str, Any]]:
        pages: list[Page] = []
        for content in contents:
            for page in read_document(content, first_page=len(pages) + 1):
                _check(cancel, f"after {page.number} pages")
                pages.append(page)
        return self.analyze_pages(pages, cancel=cancel)

    def analyze_pages(self, pages: Sequence[Page], *, cancel: threading.Event | None = None) -> list[
            dict[str, Any]]:
        self.last_pages = list(pages)
        layouts = []
        for page in pages:
            _check(cancel, f"in the layout of page {page.number}")
            layouts.append(build_layout(page))
        tables = {layout.page.number: find_tables(layout) for layout in layouts}
        in_tables = table_segments([t for page_tables in tables.values() for t in page_tables])
        candidates = find_candidates(layouts, exclude=in_tables)
        candidates.extend(unlabelled_dates(layouts, exclude=in_tables))
        documents = []
        for index, group in enumerate(_split_invoices(layouts, candidates), start=1):
            numbers = {layout.page.number for layout in group}
            group_candidates = [c for c in candidates if c.page in numbers]
            group_tables = [t for n in sorted(numbers) for t in tables[n]]
            documents.append(_expense_document(index, group, group_candidates, group_tables, in_tables))
        return [response_page(len(pages), documents)]


def _check(cancel: threading.Event | None, where: str) -> None:
    """Stop between pages once the job is cancelled: nobody waits for the result (emulation/textract.py)."""
    if cancel is not None and cancel.is_set():
        raise AnalysisCancelled(f"Analysis stopped {where}")


def _split_invoices(layouts: list[PageLayout], candidates: list[Candidate]) -> list[list[PageLayout]]:
    groups: list[list[PageLayout]] = []
    current: set[str] = set()
    for layout in layouts:
        numbers = {
            lx.fold(str(c.value.parsed)) for c in candidates
            if c.field == lx.INVOICE_ID and c.page == layout.page.number and c.strength >= 2
            and c.top <= _NUMBER_ZONE * layout.page.height
        }
        if groups and not (current and numbers and not numbers & current):
            groups[-1].append(layout)
            current |= numbers
        else:
            groups.append([layout])
            current = set(numbers)
    return groups or [[]]


def _expense_document(
    index: int, layouts: list[PageLayout], candidates: list[Candidate], tables: list[Table], in_tables: set[int]
) -> dict[str, Any]:
    sizes = {layout.page.number: PageSize(layout.page.width, layout.page.height) for layout in layouts}
    chosen = select(candidates)
    currency = find_currency_code(layouts, candidates)
    summary = [_summary_field(field, pick, sizes, currency) for field, pick in chosen.items()]
    summary.extend(_party_fields(find_parties(layouts, in_tables), sizes))
    line_items = [_line_item(table, row_index, sizes, currency) for table in tables
                  for row_index in range(len(table.rows))]
    return expense_document(index, summary, [fields for fields in line_items if fields])


def _summary_field(field: str, pick: Chosen, sizes: dict[int, PageSize], currency: CurrencyGuess | None) -> dict[
        str, Any]:
    c = pick.candidate
    label = Detection(c.label, c.label_box, 99.0) if c.label else None
    money = field in lx.AMOUNT_FIELDS and currency is not None
    return expense_field(
        field, Detection(c.value.text, c.value.box, c.value.confidence), page=c.page, size=sizes[c.page],
        type_confidence=pick.confidence, label=label,
        currency=(currency.code, currency.confidence) if money and currency else None,
    )


def _party_fields(parties: Parties, sizes: dict[int, PageSize]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for group_type, pairs in (
        ("VENDOR", ((parties.vendor, "VENDOR_NAME", "NAME"), (parties.vendor_address, "VENDOR_ADDRESS", "ADDRESS"))),
        ("RECEIVER", ((parties.customer, "RECEIVER_NAME", "NAME"),
                      (parties.customer_address, "RECEIVER_ADDRESS", "ADDRESS"))),
    ):
        group = (group_type, group_id())
        for item, specific, generic in pairs:
            if item is None or not item.name:
                continue
            out.append(_party_field(specific, item, sizes, None))
            out.append(_party_field(generic, item, sizes, group))
    return out


def _party_field(type_: str, item: PartyText, sizes: dict[int, PageSize], group: tuple[str, str] | None) -> dict[
        str, Any]:
    label = Detection(item.label, item.label_box, 99.0) if item.label else None
    return expense_field(type_, Detection(item.name, item.box, 99.0), page=item.page, size=sizes[item.page],
                         type_confidence=item.confidence, label=label, group=group)


_LINE_TYPES = ((lx.DESCRIPTION, "ITEM"), (lx.QUANTITY, "QUANTITY"), (lx.UNIT_PRICE, "UNIT_PRICE"),
               (lx.AMOUNT, "PRICE"), (lx.PRODUCT_CODE, "PRODUCT_CODE"))


def _line_item(table: Table, row_index: int, sizes: dict[int, PageSize], currency: CurrencyGuess | None) -> list[
        dict[str, Any]]:
    row = table.rows[row_index]
    size = sizes[table.page]
    headers = {column.kind: column for column in table.columns}
    fields: list[dict[str, Any]] = []
    for kind, type_ in _LINE_TYPES:
        segments = row.cells.get(kind, [])
        if kind != lx.DESCRIPTION and row.anchor is not None:
            # Numbers belong to the row's own baselines, not to its continuation lines (a "Bruttopreis: 9,90"
            # note under the description).
            own = {id(s) for line in row.lines[: row.lines.index(row.anchor) + 1] for s in line.segments}
            segments = [s for s in segments if id(s) in own]
        text = cell_text(segments, multiline=kind == lx.DESCRIPTION)
        if not text:
            continue
        words = cell_words(segments)
        header = headers.get(kind)
        label = Detection(header.label, header.box, 99.0) if header else None
        money = kind in (lx.UNIT_PRICE, lx.AMOUNT) and currency is not None
        fields.append(expense_field(
            type_, Detection(text, Box.union(w.box for w in words), min(w.confidence for w in words)),
            page=table.page, size=size, type_confidence=90.0, label=label,
            currency=(currency.code, currency.confidence) if money and currency else None,
        ))
    if fields:
        row_text = "\n".join(line.text for line in row.lines)
        fields.append(expense_field(
            "EXPENSE_ROW", Detection(row_text, row.box, min(w.confidence for line in row.lines for w in line.words)),
            page=table.page, size=size, type_confidence=90.0,
        ))
    return fields
