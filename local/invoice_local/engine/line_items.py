"""Item tables: a header line names the columns, rows hang off the sums printed in the amount column.

A header is a line of short text cells that name at least a description and one of quantity, unit price or
amount (lexicon.column_kind), with no sums on it. Text lines touching it (a two-line header: "Zeilenbetrag"
over "Ohne MwSt.") belong to the header. Each data cell goes to the column whose header it overlaps most:
descriptions are left-aligned under their header, numbers usually right-aligned.

Rows are anchored on the lines that hold a sum in the amount column (else the unit price, else the
quantity): one anchor, one item. A line right above an anchor is the same row printed on two baselines (the
amount a little lower than the description); lines after an anchor continue its description. The table ends
at a line labelled as a total or tax, at the next header, at a wide vertical gap, or in the page footer."""

from __future__ import annotations

from dataclasses import dataclass, field

from invoice_local.engine import lexicon as lx
from invoice_local.engine.layout import Line, PageLayout, Segment
from invoice_local.engine.model import Box, Word
from invoice_local.engine.values import find_amounts, has_letters

MAX_GAP = 6.0  # text heights of empty space that end a table
CONTINUATION_GAP = 3.0  # text heights between a row's last line and a line continuing its description
SAME_ROW_GAP = 0.8  # a line this close above an anchor is the upper baseline of the same row
FOOTER_ZONE = 0.88  # share of the page height below which lines are page footers
_NUMERIC_KINDS = (lx.QUANTITY, lx.UNIT_PRICE, lx.AMOUNT)


@dataclass(frozen=True)
class Column:
    kind: str
    label: str
    box: Box


@dataclass
class Row:
    lines: list[Line] = field(default_factory=list)
    anchor: Line | None = None
    cells: dict[str, list[Segment]] = field(default_factory=dict)

    @property
    def box(self) -> Box:
        return Box.union(line.box for line in self.lines)


@dataclass
class Table:
    page: int
    columns: list[Column]
    header_lines: list[Line]
    rows: list[Row]


def _cells(line: Line) -> list[tuple[Segment, str | None]]:
    """Header cells with their kinds. A segment holding two header words that sit too close to split
    ("BTW Prijs incl. BTW") is cut where the second cell begins."""
    out: list[tuple[Segment, str | None]] = []
    for segment in line.segments:
        kind = _cell_kind(segment.text)
        if len(segment.words) >= 2:
            for cut in range(1, len(segment.words)):
                left = Segment(segment.words[:cut], segment.page, segment.line_index)
                right = Segment(segment.words[cut:], segment.page, segment.line_index)
                left_kind, right_kind = _cell_kind(left.text), _cell_kind(right.text)
                if left_kind and right_kind and left_kind != right_kind and kind in (None, left_kind, right_kind):
                    out.extend([(left, left_kind), (right, right_kind)])
                    break
            else:
                out.append((segment, kind))
        else:
            out.append((segment, kind))
    return out


def _cell_kind(text: str) -> str | None:
    if len(lx.tokens(text)) > 4:
        return None
    return lx.column_kind(text)


def _is_header(line: Line) -> list[Column] | None:
    if any(a.quality == 2 for a in find_amounts(line.words)):
        return None
    cells = _cells(line)
    kinds = [kind for _, kind in cells if kind]
    if lx.DESCRIPTION not in kinds or not any(k in kinds for k in _NUMERIC_KINDS):
        return None
    if len(set(kinds)) < 2 or len(kinds) < 0.5 * len(cells):
        return None
    return [Column(kind, segment.text, segment.box) for segment, kind in cells if kind]


def _looks_like_header(line: Line) -> bool:
    """Any line of column names, an item table's or not (a tax breakdown's): it ends the table above it."""
    if any(a.quality == 2 for a in find_amounts(line.words)) or len(line.segments) < 3:
        return False
    kinds = [kind for _, kind in _cells(line) if kind]
    return len(set(kinds)) >= 2


def _assign(segment: Segment, columns: list[Column], unit: float) -> Column | None:
    best, best_overlap = None, 0.0
    for column in columns:
        overlap = segment.box.x_overlap(column.box)
        if overlap > best_overlap:
            best, best_overlap = column, overlap
    if best is not None:
        return best
    # No overlap: the nearest header, if it is close (a short number right-aligned past its header's end).
    nearest = min(columns, key=lambda c: min(abs(segment.box.left - c.box.right), abs(segment.box.right - c.box.left)))
    distance = min(abs(segment.box.left - nearest.box.right), abs(segment.box.right - nearest.box.left))
    return nearest if distance <= 3 * unit else None


def _anchor_kind(columns: list[Column]) -> str:
    kinds = {c.kind for c in columns}
    for kind in (lx.AMOUNT, lx.UNIT_PRICE, lx.QUANTITY):
        if kind in kinds:
            return kind
    return lx.AMOUNT


def _cells_of(line: Line, columns: list[Column], unit: float) -> dict[str, list[Segment]]:
    cells: dict[str, list[Segment]] = {}
    for segment in line.segments:
        column = _assign(segment, columns, unit)
        if column is not None:
            cells.setdefault(column.kind, []).append(segment)
    return cells


def _summary_label(line: Line, columns: list[Column], unit: float) -> str | None:
    """The sum a line is labelled with ("Subtotal $ 112.00", "Total | 319.00"), if it prints one in a number
    column: a note in the description ("Tax: 0.2%", "incl. 19% insurance tax = 12,77 €") is part of its item."""
    if not any(
        a.quality == 2
        for segment in line.segments
        if (column := _assign(segment, columns, unit)) is not None and column.kind != lx.DESCRIPTION
        for a in find_amounts(segment.words)
    ):
        return None
    for segment in line.segments:
        if not has_letters(segment.text):
            continue
        words = segment.words
        for k in range(len(words), 0, -1):
            match = lx.classify_money(" ".join(w.text for w in words[:k]))
            if match is not None and match.strength >= 2:
                return match.field
        return None
    return None


def find_tables(layout: PageLayout) -> list[Table]:
    tables: list[Table] = []
    lines = layout.lines
    unit = layout.text_height
    index = 0
    while index < len(lines):
        columns = _is_header(lines[index])
        if columns is None:
            index += 1
            continue
        header_lines = [lines[index]]
        # Text-only lines touching the header line are more of the header ("Art-Nr", "Ohne MwSt.").
        before = index - 1
        while before >= 0 and _header_continuation(lines[before], header_lines[0], unit, above=True):
            header_lines.insert(0, lines[before])
            before -= 1
        after = index + 1
        while after < len(lines) and _header_continuation(lines[after], header_lines[-1], unit, above=False):
            header_lines.append(lines[after])
            after += 1
        table = Table(layout.page.number, columns, header_lines, [])
        index = _read_rows(layout, table, after)
        tables.append(table)
    return tables


def _header_continuation(line: Line, header: Line, unit: float, *, above: bool) -> bool:
    gap = header.box.top - line.box.bottom if above else line.box.top - header.box.bottom
    if gap > 0.8 * unit:
        return False
    return not any(a.quality == 2 for a in find_amounts(line.words)) and all(
        len(lx.tokens(s.text)) <= 3 for s in line.segments
    )


def _read_rows(layout: PageLayout, table: Table, start: int) -> int:
    """Read rows from line `start`; returns the index of the first line after the table."""
    unit = layout.text_height
    columns = table.columns
    anchor_kind = _anchor_kind(columns)
    description = [c for c in columns if c.kind == lx.DESCRIPTION]
    desc_left = min(c.box.left for c in description) - 1.5 * unit
    pending: list[Line] = []  # lines waiting for the anchor below them
    last_bottom = table.header_lines[-1].box.bottom
    closed = True  # no row open for continuation lines
    index = start
    lines = layout.lines
    while index < len(lines):
        line = lines[index]
        gap = line.box.top - last_bottom
        if gap > MAX_GAP * unit or _looks_like_header(line):
            break
        cells = _cells_of(line, columns, unit)
        is_anchor = any(
            a.quality == 2 or anchor_kind == lx.QUANTITY
            for segment in cells.get(anchor_kind, []) for a in find_amounts(segment.words)
        )
        label = _summary_label(line, columns, unit)
        if label in (lx.TOTAL, lx.AMOUNT_DUE, lx.TAX):
            break
        if label is not None or (is_anchor and _sum_line(line, cells)):
            closed, pending = True, []  # a section's subtotal or a charge of the sum chain: not an item
            last_bottom = line.box.bottom
            index += 1
            continue
        if not is_anchor and line.box.top > FOOTER_ZONE * layout.page.height:
            break
        if is_anchor:
            row = Row(anchor=line)
            # The upper baseline of a two-baseline row is close above, and completes the anchor line: it holds
            # the description the anchor line lacks, or numbers of its own. A heading over the next items
            # ("--- Food ---") does neither.
            anchor_has_text = bool(cells.get(lx.DESCRIPTION))
            above = [
                p for p in pending
                if (line.box.top - p.box.bottom <= SAME_ROW_GAP * unit or p.box.y_overlap(line.box) > 0)
                and (not anchor_has_text or _has_numbers(p, columns, unit))
            ]
            row.lines = [*above, line]
            table.rows.append(row)
            pending, closed = [], False
        elif not closed and gap <= CONTINUATION_GAP * unit and line.segments[0].box.left >= desc_left:
            # Continues the open row's description, unless it is the upper baseline of the next row.
            nxt = lines[index + 1] if index + 1 < len(lines) else None
            gap_next = nxt.box.top - line.box.bottom if nxt is not None else float("inf")
            if nxt is not None and gap_next <= SAME_ROW_GAP * unit and gap_next < gap and _is_anchor_line(
                nxt, columns, anchor_kind, unit
            ):
                pending = [line]
            else:
                table.rows[-1].lines.append(line)
        else:
            pending = [*pending, line]
        last_bottom = line.box.bottom
        index += 1
    for row in table.rows:
        row.cells = {}
        for line in row.lines:
            for kind, segments in _cells_of(line, columns, unit).items():
                row.cells.setdefault(kind, []).extend(segments)
    return index


def _sum_line(line: Line, cells: dict[str, list[Segment]]) -> bool:
    """A line of the sum chain under the items, whatever its words ("Frais de port 30,01", "Warenwert
    1.234,00", "Remise 5 % -12,00"): its label stands in a number column, right of the descriptions, and
    it has neither a description nor a quantity. An item always names itself in the description column."""
    if cells.get(lx.DESCRIPTION) or any(find_amounts(s.words) for s in cells.get(lx.QUANTITY, [])):
        return False
    labelled = {id(s) for kind, segments in cells.items() if kind != lx.DESCRIPTION for s in segments
                if has_letters(s.text) and not find_amounts(s.words)}
    return bool(labelled) and any(id(s) in labelled for s in line.segments)


def _has_numbers(line: Line, columns: list[Column], unit: float) -> bool:
    cells = _cells_of(line, columns, unit)
    return any(find_amounts(s.words) for kind in _NUMERIC_KINDS for s in cells.get(kind, []))


def _is_anchor_line(line: Line, columns: list[Column], anchor_kind: str, unit: float) -> bool:
    cells = _cells_of(line, columns, unit)
    return any(a.quality == 2 for s in cells.get(anchor_kind, []) for a in find_amounts(s.words))


def table_segments(tables: list[Table]) -> set[int]:
    """ids of the segments inside tables (headers and rows): no key field is read from them."""
    out: set[int] = set()
    for table in tables:
        for line in table.header_lines:
            out.update(id(s) for s in line.segments)
        for row in table.rows:
            for line in row.lines:
                out.update(id(s) for s in line.segments)
    return out


def cell_text(segments: list[Segment], *, multiline: bool = False) -> str | None:
    if not segments:
        return None
    ordered = sorted(segments, key=lambda s: (s.box.top, s.box.left))
    lines: list[list[Segment]] = []
    for segment in ordered:
        if lines and segment.line_index == lines[-1][-1].line_index:
            lines[-1].append(segment)
        else:
            lines.append([segment])
    joiner = "\n" if multiline else " "
    return joiner.join(" ".join(s.text for s in line) for line in lines)


def cell_words(segments: list[Segment]) -> list[Word]:
    return [w for s in segments for w in s.words]
