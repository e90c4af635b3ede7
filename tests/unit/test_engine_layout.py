"""The local engine's layout stage on word boxes built in the test: words -> lines -> segments, and the
geometry questions (right of, below) that label/value pairing asks."""

from __future__ import annotations

from invoice_local.engine.layout import build_layout, right_of
from invoice_local.engine.model import Box, Page, Word

CHAR_WIDTH = 5.0
TEXT_HEIGHT = 10.0


def make_page(
    rows: list[tuple[float, list[tuple[float, str]]]],
    *,
    number: int = 1,
    width: float = 595.0,
    height: float = 842.0,
    text_height: float = TEXT_HEIGHT,
) -> Page:
    """A page from (top, [(left, text), ...]) rows: every cell's words set in a monospace font, one space
    apart."""
    words: list[Word] = []
    for top, cells in rows:
        for left, text in cells:
            x = left
            for token in text.split():
                w = CHAR_WIDTH * len(token)
                words.append(Word(token, Box(x, top, x + w, top + text_height), 99.0))
                x += w + CHAR_WIDTH
    return Page(number, width, height, words)


def texts(page: Page) -> list[list[str]]:
    return [[s.text for s in line.segments] for line in build_layout(page).lines]


def test_words_of_a_phrase_form_one_segment_and_a_wide_gap_splits() -> None:
    page = make_page([(100, [(50, "Invoice number:"), (300, "INV-42")])])
    assert texts(page) == [["Invoice number:", "INV-42"]]


def test_lines_are_ordered_top_to_bottom_and_words_left_to_right() -> None:
    page = make_page([(200, [(50, "second line")]), (100, [(300, "right"), (50, "left")])])
    assert texts(page) == [["left", "right"], ["second line"]]


def test_close_lines_stay_apart() -> None:
    # 8 points apart with 10-point boxes: they overlap by 2 points, far less than half a line.
    page = make_page([(100, [(50, "Amazon Web Services, Inc.")]), (108, [(50, "410 Terry Ave North")])])
    assert texts(page) == [["Amazon Web Services, Inc."], ["410 Terry Ave North"]]


def test_words_never_stack_in_one_line() -> None:
    # Tall OCR boxes of two lines overlap vertically by 60%; the words sit on top of each other horizontally,
    # which no single line does, so they are two lines and the words are not interleaved.
    page = make_page([(100, [(50, "Amazon Web Services")]), (104, [(50, "410 Terry Ave North")])])
    assert texts(page) == [["Amazon Web Services"], ["410 Terry Ave North"]]


def test_a_word_slightly_off_the_baseline_joins_its_line() -> None:
    page = make_page([(100, [(50, "Total")]), (102, [(300, "5.00")])])
    assert texts(page) == [["Total", "5.00"]]


def test_right_of_lists_the_line_neighbours_nearest_first() -> None:
    layout = build_layout(make_page([(100, [(50, "Total"), (400, "EUR"), (250, "1 234,56")])]))
    label = layout.lines[0].segments[0]
    assert [s.text for s in right_of(layout, label)] == ["1 234,56", "EUR"]


def test_text_height_is_the_typical_word_height() -> None:
    layout = build_layout(make_page([(100, [(50, "a b c d")])], text_height=7.5))
    assert layout.text_height == 7.5
