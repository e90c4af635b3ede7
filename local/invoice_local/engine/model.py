"""The few value types the engine passes between its stages: boxes, words and pages.

Coordinates stay in the page's own units (PDF points or image pixels, origin top left) until the response is
written: every layout threshold is a multiple of the text height, which only means something in real units.
The response divides by the page size to give Textract's page ratios."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def cx(self) -> float:
        return (self.left + self.right) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    def x_overlap(self, other: Box) -> float:
        return min(self.right, other.right) - max(self.left, other.left)

    def y_overlap(self, other: Box) -> float:
        return min(self.bottom, other.bottom) - max(self.top, other.top)

    @staticmethod
    def union(boxes: Iterable[Box]) -> Box:
        items = list(boxes)
        if not items:
            raise ValueError("union of no boxes")
        return Box(
            min(b.left for b in items), min(b.top for b in items),
            max(b.right for b in items), max(b.bottom for b in items),
        )


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    confidence: float = 99.0  # 0..100 like Textract; a text layer is exact, OCR gives its own score


@dataclass
class Page:
    """One page's words, whichever way they were read."""

    number: int  # 1-based
    width: float
    height: float
    words: list[Word] = field(default_factory=list)
    source: str = "text"  # "text" (PDF text layer) or "ocr"
    seconds: float = 0.0  # time spent reading the page (text layer or render + OCR), for the eval's timings
