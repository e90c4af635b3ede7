"""Words to lines to segments, and the geometry questions the field finders ask of them.

A *line* is every word sharing a baseline band across the page; a *segment* is a run of words in one line with
no wide gap inside (a label, a value, a table cell, a sentence). Invoices put a label and its value either in
one segment ("Invoice no: 42"), in two segments of one line ("Total      5.00"), or one above the other
("Invoice date" over "03.05.2018"), so finders look in that order. All thresholds are multiples of the text
height: they hold for 8 pt and 16 pt print, PDF points and OCR pixels alike."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from invoice_local.engine.model import Box, Page, Word

# A gap wider than this many text heights ends a segment. Spaces inside a phrase are about 0.3; label/value
# columns and table cells are set apart by one height or more.
SEGMENT_GAP = 0.9
# Two words share a line when their vertical overlap is at least this share of the smaller one's height.
LINE_OVERLAP = 0.5


@dataclass
class Segment:
    words: list[Word]
    page: int
    line_index: int = -1
    box: Box = field(init=False)
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.box = Box.union(w.box for w in self.words)
        self.text = " ".join(w.text for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.box.height for w in self.words)

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)

    def tail(self, start: int) -> Segment | None:
        """The words from `start` on, as a segment of their own (the value after an inline label)."""
        rest = self.words[start:]
        if not rest:
            return None
        return Segment(list(rest), self.page, self.line_index)


@dataclass
class Line:
    segments: list[Segment]
    index: int
    box: Box = field(init=False)

    def __post_init__(self) -> None:
        self.box = Box.union(s.box for s in self.segments)

    @property
    def text(self) -> str:
        return "   ".join(s.text for s in self.segments)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]


@dataclass
class PageLayout:
    page: Page
    lines: list[Line]
    text_height: float  # the page's typical word height: the unit of every distance

    @property
    def segments(self) -> list[Segment]:
        return [s for line in self.lines for s in line.segments]


def build_layout(page: Page) -> PageLayout:
    words = [w for w in page.words if w.text.strip() and w.box.height > 0]
    text_height = statistics.median(w.box.height for w in words) if words else 1.0
    groups = _group_lines(words)
    lines: list[Line] = []
    for group in groups:
        segments = _split_segments(group, page.number)
        line = Line(segments, len(lines))
        for segment in segments:
            segment.line_index = line.index
        lines.append(line)
    return PageLayout(page, lines, text_height)


def _group_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words in bands of shared height, top to bottom, each band left to right. A word joins the band whose
    vertical middle it overlaps most; tall words (a logo's big letters) do not swallow two bands."""
    bands: list[tuple[float, float, list[Word]]] = []  # top, bottom of the band's core, words
    for word in sorted(words, key=lambda w: (w.box.cy, w.box.left)):
        best, best_overlap = -1, 0.0
        for index in range(len(bands) - 1, max(-1, len(bands) - 4), -1):
            top, bottom, _ = bands[index]
            overlap = min(bottom, word.box.bottom) - max(top, word.box.top)
            smaller = min(bottom - top, word.box.height)
            if smaller > 0 and overlap >= LINE_OVERLAP * smaller and overlap > best_overlap and \
                    not _collides(word, bands[index][2]):
                best, best_overlap = index, overlap
        if best >= 0:
            top, bottom, members = bands[best]
            members.append(word)
            # The band keeps the median extent of its words, so one tall word does not stretch it.
            tops = sorted(w.box.top for w in members)
            bottoms = sorted(w.box.bottom for w in members)
            bands[best] = (tops[len(tops) // 2], bottoms[len(bottoms) // 2], members)
        else:
            bands.append((word.box.top, word.box.bottom, [word]))
    ordered = sorted(bands, key=lambda b: (b[0] + b[1]) / 2)
    return [sorted(members, key=lambda w: w.box.left) for _, _, members in ordered]


def _collides(word: Word, members: list[Word]) -> bool:
    """Whether the word would sit on top of a word already in the band: two lines set close together (or
    tall OCR boxes) overlap vertically, but words of one line never overlap horizontally."""
    for other in members:
        overlap = word.box.x_overlap(other.box)
        if overlap > 0.3 * min(word.box.width, other.box.width):
            return True
    return False


def _split_segments(words: list[Word], page: int) -> list[Segment]:
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        if current:
            prev = current[-1]
            height = min(statistics.median(w.box.height for w in current), word.box.height) or 1.0
            if word.box.left - prev.box.right > SEGMENT_GAP * height:
                segments.append(Segment(current, page))
                current = []
        current.append(word)
    if current:
        segments.append(Segment(current, page))
    return segments


# --- Geometry queries ---------------------------------------------------------------------------------------
def right_of(layout: PageLayout, segment: Segment, *, max_gap: float | None = None) -> list[Segment]:
    """Segments of the same line right of `segment`, nearest first."""
    line = layout.lines[segment.line_index]
    found = [s for s in line.segments if s.box.left >= segment.box.right - 0.1 * segment.height]
    if max_gap is not None:
        found = [s for s in found if s.box.left - segment.box.right <= max_gap * layout.text_height]
    return sorted(found, key=lambda s: s.box.left)


def below(layout: PageLayout, segment: Segment, *, max_lines: int = 2, max_gap: float = 2.5) -> list[Segment]:
    """Segments in the next few lines under `segment` that share its column (overlap it horizontally or start
    at its left edge), nearest first."""
    found: list[Segment] = []
    limit = segment.box.bottom + max_gap * layout.text_height * max_lines
    for line in layout.lines[segment.line_index + 1: segment.line_index + 1 + max_lines]:
        if line.box.top > limit:
            break
        for candidate in line.segments:
            aligned = abs(candidate.box.left - segment.box.left) <= 1.5 * layout.text_height
            if candidate.box.x_overlap(segment.box) > 0 or aligned:
                found.append(candidate)
    return found


def reading_order(layouts: Iterable[PageLayout]) -> list[Segment]:
    return [s for layout in layouts for s in layout.segments]
