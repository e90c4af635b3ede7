"""Invoice -> PDF bytes with fpdf2: vendor block top-left, meta block top-right, customer block, line-item table,
totals bottom-right, payment terms and a small-print footer with bank details.

Only the PDF core fonts (Helvetica, Times) are used, with fpdf2's core-font encoding switched to windows-1252.
The core fonts are declared /WinAnsiEncoding, which has € (0x80), typographic quotes and every Latin-1 letter,
so "1.234,56 €" prints and extracts correctly without embedding a TTF. That keeps every byte independent of
which fonts the machine has installed.

Deterministic by construction: fixed creation date (the invoice's issue date at 09:00 UTC), which fpdf2 also
uses for the /ID hash; no other clock, no randomness; zlib stream compression is deterministic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from fpdf import FPDF

from invoice_local.samples.model import Invoice, LineItem

PAGE_W = 210.0
LEFT, RIGHT = 18.0, 192.0
CONTENT_W = RIGHT - LEFT
META_X = 118.0  # the meta block and the title occupy LEFT..RIGHT from here
BODY_BOTTOM = 264.0  # table rows and totals end above this line; the footer starts below it
FOOTER_Y = 268.0
ROW_H = 6.2
HEADER_H = 7.5
TOTALS_H = 42.0  # totals block plus payment terms, kept together on one page

BLACK = (25, 25, 25)
GREY = (100, 100, 100)
LIGHT = (200, 200, 200)
ZEBRA = (243, 243, 243)
WHITE = (255, 255, 255)

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class _Column:
    header: str
    width: float
    align: str


class _Renderer:
    def __init__(self, invoice: Invoice, page_count: int | None) -> None:
        self.inv = invoice
        self.loc = invoice.locale
        self.lay = invoice.layout
        self.page_count = page_count  # known after a first pass; None: print no page numbers
        pdf = FPDF(unit="mm", format="A4")
        pdf.core_fonts_encoding = "windows-1252"  # see the module docstring: € with core fonts
        created = datetime.combine(invoice.issue_date, time(9, 0), tzinfo=UTC)
        pdf.set_creation_date(created)  # the default is now(): the one source of non-determinism in fpdf2
        pdf.set_title(f"{self.loc.word('title').capitalize()} {invoice.number}")
        pdf.set_author(invoice.vendor.name)
        pdf.set_creator("invoice_local.samples")
        pdf.set_lang(self.loc.tag)
        pdf.set_auto_page_break(False)  # pagination is decided here, so totals never split across pages
        pdf.set_margins(LEFT, 15, PAGE_W - RIGHT)
        pdf.c_margin = 0  # cells place text exactly where the layout says; padding is explicit below
        self.pdf = pdf
        self.columns = self._columns()

    # -- primitives ------------------------------------------------------------------------------------------

    def text(self, x: float, y: float, w: float, s: str, size: float = 9, style: str = "", align: str = "L",
             color: RGB = BLACK) -> None:
        pdf = self.pdf
        pdf.set_font(self.lay.font, style, size)
        # A sample whose text overflows its box would be a silent layout bug (text over text): refuse it.
        if pdf.get_string_width(s) > w + 0.01:
            raise ValueError(f"{self.inv.file}: {s!r} does not fit in {w:.1f} mm")
        pdf.set_text_color(*color)
        pdf.set_xy(x, y)
        pdf.cell(w, size * 0.42, s, align=align)

    def hline(self, y: float, x0: float = LEFT, x1: float = RIGHT, width: float = 0.2, color: RGB = LIGHT) -> None:
        self.pdf.set_draw_color(*color)
        self.pdf.set_line_width(width)
        self.pdf.line(x0, y, x1, y)

    def fill(self, x: float, y: float, w: float, h: float, color: RGB) -> None:
        self.pdf.set_fill_color(*color)
        self.pdf.rect(x, y, w, h, style="F")

    # -- page furniture --------------------------------------------------------------------------------------

    def new_page(self) -> None:
        # The footer is drawn when a page is complete, so the text layer reads top to bottom like the page does.
        if self.pdf.page:
            self.footer()
        self.pdf.add_page()

    def footer(self) -> None:
        """Small print on every page: legal details and bank account, in columns spread across the width."""
        pdf = self.pdf
        self.hline(FOOTER_Y)
        pdf.set_font(self.lay.font, "", 6.8)
        widths = [max(pdf.get_string_width(line) for line in col) for col in self.inv.footer]
        gap = (CONTENT_W - sum(widths)) / max(1, len(widths) - 1)
        if gap < 4:
            raise ValueError(f"{self.inv.file}: footer columns too wide")
        x = LEFT
        for col, width in zip(self.inv.footer, widths, strict=True):
            for j, line in enumerate(col):
                self.text(x, FOOTER_Y + 2 + j * 3.3, width + 0.1, line, 6.8, color=GREY)
            x += width + gap
        if self.page_count:
            label = self.loc.word("page", n=pdf.page_no(), nb=self.page_count)
            self.text(LEFT, FOOTER_Y + 13, CONTENT_W, label, 7, align="R", color=GREY)

    def continuation_header(self) -> float:
        """Pages after the first repeat who issued which invoice, so a page read alone is still attributable."""
        inv, loc = self.inv, self.loc
        self.text(LEFT, 15, 95, inv.vendor.name, 11, "B", color=self.lay.accent)
        self.text(META_X - 10, 15, RIGHT - META_X + 10, f"{loc.word('title').capitalize()} {inv.number}", 10, "B",
                  align="R")
        self.text(META_X - 10, 20.5, RIGHT - META_X + 10, f"{loc.word('date')}: {loc.date(inv.issue_date)}", 8.5,
                  align="R", color=GREY)
        self.hline(26, width=0.3, color=self.lay.accent)
        return 31.0

    # -- first-page blocks -----------------------------------------------------------------------------------

    def vendor_block(self) -> float:
        inv, lay = self.inv, self.lay
        x, y = LEFT, 15.0
        if lay.logo:
            # A plain mark with the initials: logos are what OCR and layout models often misread as text.
            initials = "".join(word[0] for word in inv.vendor.name.split() if word[0].isalpha())[:2]
            self.fill(LEFT, y, 13, 13, lay.accent)
            self.text(LEFT, y + 4, 13, initials, 13, "B", align="C", color=WHITE)
            x = LEFT + 17
        self.text(x, y, META_X - x - 4, inv.vendor.name, 14, "B", color=lay.accent)
        y += 7.5
        tax_id = (inv.vendor.tax_id,) if inv.vendor.tax_id else ()
        for line in (*inv.vendor.address, *tax_id, *inv.vendor.contact):
            self.text(x, y, META_X - x - 4, line, 8.5, color=GREY)
            y += 4
        return y

    def meta_block(self, y: float) -> float:
        inv, loc = self.inv, self.loc
        rows = [(loc.word("number"), inv.number), (loc.word("date"), loc.date(inv.issue_date)),
                (loc.word("due"), loc.date(inv.due_date)), *inv.extra_meta]
        width = RIGHT - META_X
        for label, value in rows:
            if self.lay.meta_stacked:  # label above value
                self.text(META_X, y, width, label.upper(), 7, align="R", color=GREY)
                self.text(META_X, y + 3.6, width, value, 10, "B", align="R")
                y += 9.5
            else:  # label left, value right
                self.text(META_X, y, 34, label, 9, color=GREY)
                self.text(META_X + 34, y, width - 34, value, 9, "B", align="R")
                y += 5.2
        return y

    def customer_block(self, y: float) -> float:
        inv = self.inv
        if self.lay.sender_line:
            # DIN 5008: the sender's address in small print right above the recipient, seen through the envelope
            # window. Another address and company name a parser must not take for the customer.
            sender = " · ".join((inv.vendor.name, *inv.vendor.address[-2:]))
            self.text(LEFT, y, 85, sender, 6.5, "U", color=GREY)
            y += 5.5
        else:
            self.text(LEFT, y, 85, self.loc.word("bill_to"), 8, "B", color=self.lay.accent)
            y += 5
        self.text(LEFT, y, 85, inv.customer.name, 10.5, "B")
        y += 5.2
        for line in inv.customer.address:
            self.text(LEFT, y, 85, line, 9.5)
            y += 4.6
        return y

    # -- table and totals ------------------------------------------------------------------------------------

    def _columns(self) -> list[_Column]:
        loc = self.loc
        fixed = [_Column(loc.word("qty"), 24, "R"), _Column(loc.word("unit_price"), 28, "R"),
                 _Column(loc.word("amount"), 28, "R")]
        if self.lay.position_column:
            fixed.insert(0, _Column(loc.word("pos"), 10, "L"))
        description = _Column(loc.word("description"), CONTENT_W - sum(c.width for c in fixed), "L")
        return [*fixed[:1], description, *fixed[1:]] if self.lay.position_column else [description, *fixed]

    def _cells(self, index: int, line: LineItem) -> list[str]:
        loc = self.loc
        price = loc.money if self.lay.symbols_in_table else loc.amount
        qty = f"{loc.quantity(line.quantity)} {line.unit}".strip()
        cells = [line.description, qty, price(line.unit_price), price(line.amount)]
        return [str(index + 1), *cells] if self.lay.position_column else cells

    def _row(self, y: float, cells: Sequence[str], size: float, style: str, color: RGB) -> None:
        x = LEFT
        for col, cell in zip(self.columns, cells, strict=True):
            self.text(x + 1.5, y, col.width - 3, cell, size, style, col.align, color)
            x += col.width

    def table_header(self, y: float) -> float:
        headers = [c.header for c in self.columns]
        if self.lay.table_filled:
            self.fill(LEFT, y, CONTENT_W, HEADER_H, self.lay.accent)
            self._row(y + 1.8, headers, 8.5, "B", WHITE)
        else:
            self.hline(y, width=0.4, color=BLACK)
            self._row(y + 1.8, headers, 8.5, "B", BLACK)
            self.hline(y + HEADER_H, width=0.4, color=BLACK)
        return y + HEADER_H

    def table_row(self, y: float, index: int, line: LineItem) -> float:
        if self.lay.table_filled and index % 2 == 1:
            self.fill(LEFT, y, CONTENT_W, ROW_H, ZEBRA)
        self._row(y + 1.4, self._cells(index, line), 8.8, "", BLACK)
        if not self.lay.table_filled:
            self.hline(y + ROW_H, width=0.15)
        return y + ROW_H

    def totals_block(self, y: float) -> float:
        inv, loc, lay = self.inv, self.loc, self.lay
        x0, label_w, value_w = 108.0, 48.0, RIGHT - 108.0 - 48.0
        for label, value in ((loc.word("subtotal"), inv.subtotal),
                             (loc.word("tax", rate=loc.rate(inv.tax_rate)), inv.tax)):
            self.text(x0 + 2, y, label_w, label, 9.5, color=GREY)
            self.text(x0 + label_w, y, value_w - 2, loc.money(value), 9.5, align="R")
            y += 5.6
        y += 1.5
        total_label, total_value = loc.word("total"), loc.money(inv.total)
        if lay.table_filled:
            self.fill(x0, y, RIGHT - x0, 9, lay.accent)
            self.text(x0 + 2, y + 2.4, label_w, total_label, 11, "B", color=WHITE)
            self.text(x0 + label_w, y + 2.4, value_w - 2, total_value, 11, "B", align="R", color=WHITE)
        else:
            self.hline(y, x0, RIGHT, 0.4, BLACK)
            self.text(x0 + 2, y + 2.4, label_w, total_label, 11, "B")
            self.text(x0 + label_w, y + 2.4, value_w - 2, total_value, 11, "B", align="R")
            self.hline(y + 9, x0, RIGHT, 0.4, BLACK)
            self.hline(y + 9.8, x0, RIGHT, 0.4, BLACK)  # the accountant's double rule under a total
        return y + 12

    def terms(self, y: float) -> float:
        pdf = self.pdf
        pdf.set_font(self.lay.font, "", 8.8)
        pdf.set_text_color(*BLACK)
        pdf.set_xy(LEFT, y)
        pdf.multi_cell(CONTENT_W, 4.2, self.inv.terms)
        return pdf.get_y()

    # -- the document ----------------------------------------------------------------------------------------

    def render(self) -> bytes:
        inv, loc, lay = self.inv, self.loc, self.lay
        self.new_page()
        vendor_bottom = self.vendor_block()
        if lay.title_left:
            meta_bottom = self.meta_block(15)
            customer_bottom = self.customer_block(max(48.0, vendor_bottom + 6))
            y = max(meta_bottom, customer_bottom) + 9
            self.text(LEFT, y, CONTENT_W, loc.word("title"), 17, "B", color=lay.accent)
            y += 11
        else:
            self.text(META_X, 15, RIGHT - META_X, loc.word("title"), 21, "B", align="R", color=lay.accent)
            meta_bottom = self.meta_block(27)
            customer_bottom = self.customer_block(vendor_bottom + 7)
            y = max(meta_bottom, customer_bottom) + 9
        y = self.table_header(y)
        for index, line in enumerate(inv.lines):
            if y + ROW_H > BODY_BOTTOM:
                self.new_page()
                y = self.table_header(self.continuation_header())
            y = self.table_row(y, index, line)
        if y + 5 + TOTALS_H > BODY_BOTTOM:  # totals and terms stay together, on the last page only
            self.new_page()
            y = self.continuation_header()
        y = self.totals_block(y + 5)
        self.terms(y + 6)
        self.footer()
        return bytes(self.pdf.output())


def render_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF. Page numbers ("Seite 1 von 2") are printed only when the invoice needs more than one
    page, which a first layout pass finds out. (fpdf2's {nb} alias would avoid the second pass, but it is
    substituted after layout, so right-aligned text would end up ragged.)"""
    first = _Renderer(invoice, page_count=None)
    data = first.render()
    if first.pdf.pages_count > 1:
        data = _Renderer(invoice, page_count=first.pdf.pages_count).render()
    return data

