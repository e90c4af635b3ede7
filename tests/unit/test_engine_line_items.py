"""Item tables found by the local engine on word boxes built in the test: header columns, rows anchored on
their amounts, two-baseline rows, continuation lines and where a table ends."""

from __future__ import annotations

from invoice_local.engine import lexicon as lx
from invoice_local.engine.layout import build_layout
from invoice_local.engine.line_items import Table, cell_text, find_tables

from tests.unit.test_engine_layout import make_page


def tables(rows: list[tuple[float, list[tuple[float, str]]]]) -> list[Table]:
    return find_tables(build_layout(make_page(rows)))


def rows_of(table: Table, kind: str) -> list[str | None]:
    return [cell_text(row.cells.get(kind, [])) for row in table.rows]


HEADER = (200, [(50, "Description"), (300, "Qty"), (360, "Unit Price"), (480, "Amount")])


def test_rows_are_anchored_on_amounts_and_stop_at_the_total() -> None:
    found = tables([
        HEADER,
        (220, [(50, "Widget"), (305, "2"), (365, "5.00"), (480, "10.00")]),
        (235, [(50, "Gadget"), (305, "1"), (365, "7.50"), (480, "7.50")]),
        (260, [(360, "Total"), (480, "17.50")]),
        (275, [(50, "Not an item"), (480, "99.00")]),
    ])
    assert len(found) == 1
    table = found[0]
    assert {c.kind for c in table.columns} == {lx.DESCRIPTION, lx.QUANTITY, lx.UNIT_PRICE, lx.AMOUNT}
    assert rows_of(table, lx.DESCRIPTION) == ["Widget", "Gadget"]
    assert rows_of(table, lx.AMOUNT) == ["10.00", "7.50"]
    assert rows_of(table, lx.QUANTITY) == ["2", "1"]


def test_description_lines_continue_their_row() -> None:
    table = tables([
        HEADER,
        (220, [(50, "Service A"), (305, "12"), (365, "$10.00"), (480, "$120.00")]),
        (235, [(50, "Description: Repair")]),
        (250, [(50, "Tax: 0.2%")]),  # a note under the item, not the document's tax line
        (275, [(50, "Service B"), (305, "5"), (365, "$1.50"), (480, "$7.50")]),
    ])[0]
    assert len(table.rows) == 2
    assert [len(row.lines) for row in table.rows] == [3, 1]


def test_a_row_printed_on_two_baselines_is_one_row() -> None:
    # The description line sits just above the line that holds the amount (a generator's layout).
    table = tables([
        (100, [(50, "Pos"), (80, "Beschreibung"), (300, "Nettopreis"), (380, "Menge"), (480, "Nettobetrag")]),
        (120, [(50, "1"), (80, "Trennblätter A4"), (305, "9,9000"), (385, "20 Stk")]),
        (128, [(490, "198,00")]),
        (145, [(80, "(GTIN) 4012345001235")]),
        (180, [(50, "2"), (80, "Joghurt Banane"), (305, "5,5000"), (385, "50 Stk")]),
        (188, [(490, "275,00")]),
        (260, [(50, "Umsatzsteueraufschlüsselung")]),
        (280, [(50, "Art"), (150, "Basisbetrag"), (300, "Steuersatz"), (450, "Steuerbetrag")]),
        (295, [(50, "Umsatzsteuer"), (150, "275,00"), (300, "7"), (490, "19,25")]),
    ])[0]
    assert rows_of(table, lx.DESCRIPTION) == ["Trennblätter A4 (GTIN) 4012345001235", "Joghurt Banane"]
    assert rows_of(table, lx.AMOUNT) == ["198,00", "275,00"]
    assert rows_of(table, lx.QUANTITY) == ["20 Stk", "50 Stk"]


def test_a_section_subtotal_inside_the_table_is_skipped() -> None:
    table = tables([
        HEADER,
        (215, [(50, "--- Furniture ---")]),
        (230, [(50, "Office Chair"), (305, "1"), (365, "70.00"), (480, "$ 70.00")]),
        (245, [(420, "Subtotal $ 70.00")]),
        (260, [(50, "--- Food ---")]),
        (275, [(50, "Olive Oil"), (305, "1"), (365, "1.00"), (480, "$ 0.90")]),
        (300, [(300, "Tax 15%"), (480, "$ 10.64")]),
    ])[0]
    assert rows_of(table, lx.DESCRIPTION) == ["Office Chair", "Olive Oil"]


def test_two_header_words_in_one_segment_are_two_columns() -> None:
    table = tables([
        (100, [(50, "Artikel"), (300, "Aantal"), (360, "BTW Prijs incl. BTW")]),
        (115, [(50, "Nintendo 3DS"), (305, "1"), (362, "21%"), (420, "€ 189,00")]),
    ])[0]
    assert [c.kind for c in table.columns][-2:] == [lx.TAX_RATE, lx.AMOUNT]
    assert rows_of(table, lx.AMOUNT) == ["€ 189,00"]


def test_no_table_without_a_header() -> None:
    assert tables([
        (100, [(50, "AWS Data Transfer"), (480, "$0.01")]),
        (115, [(50, "Amazon Glacier"), (480, "$2.22")]),
    ]) == []


def test_the_page_footer_ends_a_table() -> None:
    table = tables([
        HEADER,
        (220, [(50, "Widget"), (305, "2"), (365, "5.00"), (480, "10.00")]),
        (760, [(50, "ACME Ltd - Register court Springfield")]),
        (775, [(50, "IBAN DE00 0000 0000 0000 0000 00")]),
    ])[0]
    assert len(table.rows) == 1 and len(table.rows[0].lines) == 1


def test_charges_and_discounts_of_the_sum_chain_are_not_items() -> None:
    # Labels no lexicon lists as a total, printed under the number columns right of the descriptions.
    table = tables([
        HEADER,
        (220, [(50, "Widget"), (305, "2"), (365, "5.00"), (480, "10.00")]),
        (235, [(50, "Gadget"), (305, "1"), (365, "7.50"), (480, "7.50")]),
        (260, [(300, "Frais de port"), (480, "30.01")]),
        (275, [(300, "Remise 5%"), (480, "-0.88")]),
        (290, [(300, "Total TTC"), (480, "46.63")]),
    ])[0]
    assert rows_of(table, lx.DESCRIPTION) == ["Widget", "Gadget"]


def test_an_item_named_only_in_its_description_is_still_an_item() -> None:
    table = tables([
        HEADER,
        (220, [(50, "Delivery charge"), (480, "12.00")]),  # no quantity, but it names itself as an item does
        (235, [(50, "Gadget"), (305, "1"), (365, "7.50"), (480, "7.50")]),
    ])[0]
    assert rows_of(table, lx.DESCRIPTION) == ["Delivery charge", "Gadget"]
