"""A varied invoice (varied.py) as PDF bytes with fpdf2's core fonts (windows-1252, as render.py explains).

The placement follows the document's layout choices; text that would not fit its box is set smaller rather than
refused, so any draw of the generator prints. Deterministic: fixed creation date, no clock, no randomness."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from fpdf import FPDF

from invoice_local.samples.varied import Varied

LEFT, RIGHT = 18.0, 192.0
META_X = 124.0
BODY_BOTTOM = 250.0
FOOTER_Y = 262.0
ROW_H = 5.6
GREY = (95, 95, 95)
BLACK = (20, 20, 20)
_SHORT_NO = {"en": "No.", "de": "Nr.", "fr": "n°", "nl": "nr.", "es": "nº", "it": "n.", "pt": "n.º"}


class _Page:
    def __init__(self, doc: Varied) -> None:
        self.doc = doc
        pdf = FPDF(unit="mm", format="A4")
        pdf.core_fonts_encoding = "windows-1252"
        pdf.set_creation_date(datetime.combine(doc.issue, time(9, 0), tzinfo=UTC))
        pdf.set_creator("invoice_local.samples.varied")
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, 15, 210 - RIGHT)
        pdf.c_margin = 0
        self.pdf = pdf
        self.font = str(doc.layout["font"])

    def text(self, x: float, y: float, w: float, s: str, size: float = 9, style: str = "", align: str = "L",
             color: tuple[int, int, int] = BLACK) -> None:
        pdf = self.pdf
        pdf.set_font(self.font, style, size)
        while pdf.get_string_width(s) > w and size > 5:
            size -= 0.25
            pdf.set_font(self.font, style, size)
        pdf.set_text_color(*color)
        pdf.set_xy(x, y)
        pdf.cell(w, size * 0.42, s, align=align)

    def rule(self, y: float, x0: float = LEFT, x1: float = RIGHT) -> None:
        self.pdf.set_draw_color(150, 150, 150)
        self.pdf.set_line_width(0.2)
        self.pdf.line(x0, y, x1, y)

    def box(self, x: float, y: float, w: float, h: float) -> None:
        self.pdf.set_draw_color(120, 120, 120)
        self.pdf.set_line_width(0.2)
        self.pdf.rect(x, y, w, h)


def _letterhead(p: _Page) -> float:
    doc, lay = p.doc, p.doc.layout
    vendor = doc.vendor
    details = [vendor.street, vendor.town, vendor.tax_id, f"info@{vendor.shown.lower()}.example"]
    if lay["letterhead"] == "brand":
        p.text(LEFT, 15, 100, vendor.shown, 22, "B")
        p.text(LEFT, 25, 100, f"{vendor.street} | {vendor.town}", 8, color=GREY)
        bottom = 30.0
        if lay.get("trading") == "top":
            p.text(LEFT, 29, 100, _trading_statement(doc), 7, color=GREY)
            bottom = 34.0
    else:
        x, align = (LEFT, "L") if lay["letterhead"] == "left" else (META_X, "R")
        width = 95.0 if align == "L" else RIGHT - META_X
        y = 15.0
        if lay["seller_heading"]:
            p.text(x, y, width, f"{doc.w('seller')}:", 7.5, "B", align, GREY)
            y += 5.5
        p.text(x, y, width, vendor.legal, 12, "B", align)
        y += 6
        for line in details:
            p.text(x, y, width, line, 8.5, align=align, color=GREY)
            y += 4
        bottom = y
    title_x, title_align = (META_X, "R") if lay["letterhead"] != "right" else (LEFT, "L")
    if lay["meta"] != "title_line":
        p.text(title_x, 15, RIGHT - META_X if title_align == "R" else 95, doc.w("title"), 18, "B", title_align)
    return bottom


def _trading_statement(doc: Varied) -> str:
    return str(doc.layout["trading_as"]).format(legal=doc.vendor.legal, trade=doc.vendor.trading)


def _party(p: _Page, x: float, y: float, w: float, heading: str | None, company_lines: list[str]) -> float:
    if heading:
        p.text(x, y, w, f"{heading}:", 8, "B", color=GREY)
        y += 4.5
    for index, line in enumerate(company_lines):
        p.text(x, y, w, line, 10 if index == 0 else 9, "B" if index == 0 else "")
        y += 4.6
    return y


def _parties(p: _Page, top: float) -> float:
    doc, lay = p.doc, p.doc.layout
    y = max(top + 8, 52.0)
    if lay["sender_line"]:
        p.text(LEFT, y, 100, f"{doc.vendor.legal} · {doc.vendor.street} · {doc.vendor.town}", 6.5, "U", color=GREY)
        y += 5
    buyer = doc.buyer
    width = 55.0 if doc.ship_to is not None else 95.0
    bottom = _party(p, LEFT, y, width, doc.w("bill_to") if lay["buyer_heading"] else None,
                    [buyer.legal, buyer.street, buyer.town])
    if doc.ship_to is not None:
        ship = doc.ship_to
        bottom = max(bottom, _party(p, LEFT + 58, y, 45, doc.w("ship_to"), [ship.legal, ship.street,
                                                                                   ship.town]))
    return bottom


def _meta_rows(doc: Varied) -> list[tuple[str, str]]:
    return [(doc.w("number"), doc.number), (doc.w("date"), doc.date(doc.issue)), (doc.w("due"), doc.date(doc.due)),
            *doc.meta]


def _meta_side(p: _Page, y: float, rows: list[tuple[str, str]], style: str) -> float:
    width = RIGHT - META_X
    for label, value in rows:
        if style == "stacked":
            p.text(META_X, y, width, label, 7, color=GREY)
            p.text(META_X, y + 3.4, width, value, 9.5, "B")
            y += 8.5
        elif style == "cells":  # a bordered two-column table: the label in one cell, the value in the next
            p.box(META_X - 2, y - 1.2, 31, 5.6)
            p.box(META_X + 29, y - 1.2, width - 29 + 2, 5.6)
            p.text(META_X - 1, y, 29, label, 8)
            p.text(META_X + 30, y, width - 30, value, 8.5, "B")
            y += 5.6
        else:
            p.text(META_X, y, 30, f"{label}:", 8.5, color=GREY)
            p.text(META_X + 31, y, width - 31, value, 8.5, "B", "R")
            y += 5.0
    return y


def _meta_table(p: _Page, y: float, rows: list[tuple[str, str]]) -> float:
    """Header fields as a table across the page: labels in the header cells, values in the cells below."""
    cells = rows
    width = (RIGHT - LEFT) / len(cells)
    for index, (label, value) in enumerate(cells):
        x = LEFT + index * width
        p.box(x, y, width, 5.5)
        p.box(x, y + 5.5, width, 6)
        p.text(x + 1.5, y + 1.3, width - 3, label, 7.5, "B")
        p.text(x + 1.5, y + 7.0, width - 3, value, 9)
    return y + 15


def _header(p: _Page) -> float:
    doc, lay = p.doc, p.doc.layout
    bottom = _letterhead(p)
    rows = _meta_rows(doc)
    style = str(lay["meta"])
    if style == "title_line":  # "Rechnung Nr. 4711" as the title; the other fields as pairs
        right = lay["letterhead"] == "right"
        p.text(LEFT if right else META_X - 20, 15, 100 if right else RIGHT - META_X + 20,
               f"{doc.w('title')} {_SHORT_NO[doc.market.lang]} {doc.number}", 14, "B", "L" if right else "R")
        rows, style = rows[1:], "pairs"
    party_bottom = _parties(p, bottom)
    if style == "table":
        side = _meta_side(p, 26.0, rows[5:], "pairs") if lay["letterhead"] != "right" else 0.0
        return max(_meta_table(p, max(party_bottom, side) + 6, rows[:5]), side) + 2
    meta_top = 26.0 if lay["letterhead"] != "right" else bottom + 3
    meta_bottom = _meta_side(p, meta_top, rows, style)
    return max(party_bottom, meta_bottom) + 6


def _columns(doc: Varied) -> list[tuple[str, float, str]]:
    cols = [(doc.w("description"), 0.0, "L"), (doc.w("qty"), 20.0, "R"), (doc.w("unit_price"), 28.0, "R"),
            (doc.w("amount"), 28.0, "R")]
    if doc.layout["position_column"]:
        cols.insert(0, ("Pos.", 10.0, "L"))
    fixed = sum(c[1] for c in cols)
    return [(h, w or (RIGHT - LEFT - fixed), a) for h, w, a in cols]


def _table_header(p: _Page, y: float) -> float:
    p.rule(y)
    x = LEFT
    for header, width, align in _columns(p.doc):
        p.text(x + 1, y + 1.5, width - 2, header, 8.5, "B", align)
        x += width
    p.rule(y + 6.5)
    return y + 8


def _row(p: _Page, y: float, index: int) -> float:
    doc = p.doc
    line = doc.lines[index]
    price_places = 4 if line.unit_price != line.unit_price.quantize(Decimal("0.01")) else 2
    cells = [line.description, doc.qty(line.quantity), doc.num(line.unit_price, price_places),
             doc.num(line.amount)]
    if doc.layout["position_column"]:
        cells.insert(0, str(index + 1))
    x = LEFT
    for (_, width, align), cell in zip(_columns(doc), cells, strict=True):
        p.text(x + 1, y, width - 2, cell, 8.8, align=align)
        x += width
    y += ROW_H
    if line.price_note:
        label, value, places = line.price_note
        note = f"{label} : {doc.num(value, places)}"
        desc_x = LEFT + (10 if doc.layout["position_column"] else 0) + 1
        p.text(desc_x, y - 1.2, 80, note, 7, color=GREY)
        y += 3.6
    return y


def _carried(p: _Page, y: float, label: str, amount: Decimal) -> None:
    p.text(110, y, 50, label, 9, "B")
    p.text(160, y, RIGHT - 160, p.doc.num(amount), 9, "B", "R")


def _totals(p: _Page, y: float) -> float:
    doc = p.doc
    rows: list[tuple[str, Decimal, str]] = []
    if doc.discount_rate or doc.charges:
        rows.append((doc.w("goods"), doc.goods, ""))
        if doc.discount_rate:
            rate = doc.qty(doc.discount_rate)
            rows.append((doc.w("discount", rate=rate), -doc.discount, ""))
        if doc.charges:
            rows.append((doc.w("charges"), doc.charges, ""))
    rows.append((doc.w("net"), doc.net, ""))
    rows.append((doc.w("tax", rate=doc.qty(doc.tax_rate)), doc.tax, ""))
    rows.append((doc.w("total"), doc.total, "B"))
    if doc.layout["amount_due_line"] and doc.w("due_amount") != doc.w("total"):
        rows.append((doc.w("due_amount"), doc.total, "B"))
    for label, amount, style in rows:
        if style:
            p.rule(y - 1, 110)
        p.text(110, y, 48, label, 9.5, style)
        p.text(158, y, RIGHT - 158, doc.money(amount), 9.5, style, "R")
        y += 5.6
    return y


def _footer(p: _Page, page: int, pages: int) -> None:
    doc = p.doc
    p.rule(FOOTER_Y)
    columns = [[doc.vendor.legal, doc.vendor.street, doc.vendor.town], [doc.vendor.tax_id]]
    if doc.layout.get("trading") == "footer":
        columns[1].append(_trading_statement(doc))
    if doc.layout["footer_bank"]:
        bank = [doc.w("bank")]
        if doc.holder:
            bank.append(f"{doc.w('holder')}: {doc.holder}")
        bank.extend([f"IBAN {doc.market.tag[-2:]}{doc.seed % 89 + 10:02d} 3704 0044 0532 0130 00", "BIC COBADEFFXXX"])
        columns.append(bank)
    width = (RIGHT - LEFT) / len(columns)
    for index, column in enumerate(columns):
        for j, line in enumerate(column):
            p.text(LEFT + index * width, FOOTER_Y + 2 + j * 3.2, width - 3, line, 6.8, color=GREY)
    if pages > 1:
        p.text(LEFT, FOOTER_Y + 15, RIGHT - LEFT, doc.w("page", n=page, nb=pages), 7, align="R", color=GREY)


def _continuation(p: _Page) -> float:
    doc = p.doc
    p.text(LEFT, 15, 90, doc.vendor.shown if doc.layout["letterhead"] == "brand" else doc.vendor.legal, 10, "B")
    p.text(110, 15, RIGHT - 110, f"{doc.w('title')} {doc.number}", 10, "B", "R")
    return 26.0


def _render(doc: Varied, pages: int) -> tuple[bytes, int]:
    p = _Page(doc)
    p.pdf.add_page()
    page = 1
    y = _table_header(p, _header(p))
    running = Decimal("0.00")
    for index in range(len(doc.lines)):
        if y + ROW_H + 4 > BODY_BOTTOM:
            _carried(p, y + 2, doc.w("carried"), running)
            _footer(p, page, pages)
            p.pdf.add_page()
            page += 1
            y = _continuation(p)
            _carried(p, y, doc.w("brought"), running)
            y = _table_header(p, y + 7)
        y = _row(p, y, index)
        running += doc.lines[index].amount
    if y + 60 > BODY_BOTTOM:
        _footer(p, page, pages)
        p.pdf.add_page()
        page += 1
        y = _continuation(p)
    y = _totals(p, y + 4)
    p.pdf.set_font(p.font, "", 8.5)
    p.pdf.set_text_color(*BLACK)
    p.pdf.set_xy(LEFT, y + 4)
    days = (doc.due - doc.issue).days
    p.pdf.multi_cell(RIGHT - LEFT, 4, doc.w("terms", days=days))
    y = p.pdf.get_y() + 3
    if not doc.layout["footer_bank"]:
        p.text(LEFT, y, 90, doc.w("bank"), 8.5, "B")
        if doc.holder:
            p.text(LEFT, y + 4.2, 120, f"{doc.w('holder')}: {doc.holder}", 8.5)
        p.text(LEFT, y + 8.4, 120, f"IBAN {doc.market.tag[-2:]}{doc.seed % 89 + 10:02d} 5001 0517 5407 3249 31",
               8.5)
    _footer(p, page, pages)
    return bytes(p.pdf.output()), page


def render_varied(doc: Varied) -> bytes:
    """The PDF; page numbers ("Seite 1 von 2") only on invoices that need more than one page."""
    data, pages = _render(doc, 1)
    if pages > 1:
        data, _ = _render(doc, pages)
    return data
