"""What local mode shows on the terminal, with rich: the stack's start-up (one line per stage), live progress
(deploying resources, processing documents), tables, and one-line errors.

On a terminal it draws colours and live bars. Anywhere else (a pipe, a file, a test capturing output) it
writes plain text: no ANSI codes, lines up to PLAIN_WIDTH wide, and a few progress lines instead of redraws.

What it prints comes from outside: file names, vendor names, error causes, log lines. terminal_text.printable
makes such text harmless (control characters as visible escapes), and every printer goes through it: `show`
and `to_text` pass every segment they write through it, the tables' cells are made printable before rich
measures them, and the live progress's lines too. No console reads rich markup, so a `[red]` in a file name is
printed as it is.

The stack's start-up uses it so:

    stage("postgres", "ready in 0.8s")
    with deploy_progress(total=24) as progress:    # or: progress = deploy_progress(24) ... progress.close()
        for done, address in completions:
            progress(done, address)                  # "deploy  12/24 resources  aws_s3_bucket.ingest"
"""

from __future__ import annotations

import io
import math
import sys
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from invoice_local.terminal_text import printable

PLAIN_WIDTH = 160
STAGE_WIDTH = 12
KEEP_WHOLE = 14  # table cells up to this long are never cut
COLUMN_GAP = (0, 1, 0, 0)  # with the space a borderless table puts between columns: two spaces
STATUS_STYLES = {"COMPLETED": "green", "NEEDS_REVIEW": "yellow", "FAILED": "bold red", "DUPLICATE": "cyan",
                 "APPROVED": "green", "REJECTED": "red"}
LEVEL_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}


class Printable:
    """A renderable whose every written segment is made printable: what a cell, a title or a state name
    let through still reaches the terminal as visible text (rich's own control segments, cursor moves of a
    live display, are left alone)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control or not segment.text:
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def console(*, stderr: bool = False, color: bool = True, file: IO[str] | None = None) -> Console:
    """A console on stdout (or stderr, or `file`) that draws only when it is a terminal."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    common: dict[str, Any] = {"file": stream, "highlight": False, "markup": False, "emoji": False}
    if _isatty(stream):
        return Console(**common, no_color=not color or None)
    return Console(**common, width=PLAIN_WIDTH, color_system=None, force_terminal=False, force_interactive=False)


def show(*renderables: RenderableType, stderr: bool = False, color: bool = True, soft_wrap: bool = False) -> None:
    """Print each renderable on its own line(s) to stdout (stderr); off a terminal without the trailing spaces
    rich pads table cells with. `soft_wrap`: long lines are not broken (a URL stays whole)."""
    out = console(stderr=stderr, color=color)
    if out.is_terminal:
        out.print(Printable(Group(*renderables)), soft_wrap=soft_wrap)
        return
    with out.capture() as captured:
        out.print(Printable(Group(*renderables)), soft_wrap=soft_wrap)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    out.file.flush()


def to_text(renderable: RenderableType, *, color: bool = False, width: int = PLAIN_WIDTH) -> str:
    """A renderable as a string (ANSI colours only when asked), for tests and for callers that want text."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system="standard" if color else None, force_terminal=color,
            highlight=False, markup=False, emoji=False).print(Printable(renderable))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


# --- tables ------------------------------------------------------------------------------------------------
def cell(value: Any, column: str = "") -> Text:
    if value is None or value == "":
        return Text("-", style="dim")
    text = printable(value, newlines=False)  # made printable before rich measures the column
    return Text(text, style=STATUS_STYLES.get(text, "") if column == "status" else "")


class FittedTable:
    """A one-line-per-row table that fits the width it is drawn in: when it is too wide, its longest text
    columns give way (the widest first, down to KEEP_WHOLE characters); ids, statuses, dates and amounts
    stay whole. rich alone would shrink every column alike."""

    def __init__(self, table: Table, widths: list[int]) -> None:
        self.table, self.widths = table, widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = list(self.widths)
        excess = sum(widths) + 2 * (len(widths) - 1) - options.max_width
        while excess > 0:
            widest = max(range(len(widths)), key=lambda i: widths[i])
            if widths[widest] <= KEEP_WHOLE:
                break
            cut = min(excess, widths[widest] - KEEP_WHOLE,
                      max(1, widths[widest] - max([KEEP_WHOLE, *(w for w in widths if w < widths[widest])])))
            widths[widest] -= cut
            excess -= cut
        for column, width in zip(self.table.columns, widths, strict=True):
            column.max_width = width
        yield self.table


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, max_width: int = 40,
          title: str | None = None) -> FittedTable:
    """A table of `rows` (dicts) under `columns`: one line per row (long cells end in an ellipsis), numbers
    right-aligned, statuses coloured, "-" where a value is missing."""
    out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=COLUMN_GAP, header_style="bold",
                title=title, title_justify="left", title_style="bold")
    widths = []
    for column in columns:
        values = [row.get(column) for row in rows if row.get(column) is not None]
        numeric = bool(values) and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool)
                                       for v in values)
        widths.append(min(max_width, max([cell_len(column), *(cell_len(str(v)) for v in values)], default=1)))
        out.add_column(column, no_wrap=True, overflow="ellipsis", justify="right" if numeric else "left")
    for row in rows:
        out.add_row(*(cell(row.get(column), column) for column in columns))
    return FittedTable(out, widths)


def stage(name: str, detail: str) -> None:
    """One line of the stack's start-up: `postgres    ready in 0.8s, data in .local/pgdata`."""
    show(Text.assemble((f"{name:<{STAGE_WIDTH - 1}}", "bold cyan"), " ", printable(detail)), soft_wrap=True)


def error(message: str) -> None:
    """One line on stderr, as the CLI reports every error."""
    show(Text(printable(message), style="red"), stderr=True)


# --- live progress -----------------------------------------------------------------------------------------
class LiveProgress:
    """`progress(done, detail)` as work completes: a live bar on a terminal, a few plain lines elsewhere (the
    first call, each quarter of the total, and at most every `plain_every` seconds when something changed).
    Ends at the call reaching the total, at close(), or when its with-block is left."""

    def __init__(self, label: str, total: int, unit: str, *, plain_every: float = 30.0,
                 file: IO[str] | None = None) -> None:
        self.label, self.total, self.unit = label, max(int(total), 0), unit
        self.done, self.detail = 0, ""
        self._out = console(stderr=file is None, file=file)
        self._started = time.monotonic()
        self._closed = False
        self._plain_every = plain_every
        self._last_line: tuple[float, int, str] | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if self._out.is_terminal:
            self._bar = Progress(TextColumn(printable(f"{label:<{STAGE_WIDTH - 1}}"), style="bold cyan",
                                            markup=False), BarColumn(), MofNCompleteColumn(),
                                 TextColumn(printable(unit), markup=False), TimeElapsedColumn(),
                                 TextColumn("{task.fields[detail]}", style="dim", markup=False), console=self._out)
            self._task = self._bar.add_task(label, total=self.total or None, detail="")
            self._bar.start()

    def __call__(self, done: int, detail: str = "", *, total: int | None = None) -> None:
        if self._closed:
            return
        if total is not None:
            self.total = max(int(total), 0)
        self.done, self.detail = int(done), printable(detail, newlines=False)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done, total=self.total or None, detail=detail)
        else:
            self._plain_line()
        if self.total and self.done >= self.total:
            self.close()

    def _quarter(self, done: int) -> int:
        return math.floor(4 * done / self.total) if self.total else 0

    def _plain_line(self, final: bool = False) -> None:
        now, last = time.monotonic(), self._last_line
        if last is not None and last[1:] == (self.done, self.detail):
            return  # nothing new to say
        if not (last is None or final or self._quarter(self.done) > self._quarter(last[1])
                or now - last[0] >= self._plain_every):
            return
        self._last_line = (now, self.done, self.detail)
        counts = f"{self.done}/{self.total}" if self.total else str(self.done)
        tail = f"  {self.detail}" if self.detail else ""
        self._out.print(printable(f"{self.label:<{STAGE_WIDTH - 1}} {counts} {self.unit}  "
                                  f"{now - self._started:.1f}s{tail}"), soft_wrap=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.stop()
        else:
            self._plain_line(final=True)

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def deploy_progress(total: int) -> LiveProgress:
    """Resources done out of `total` while the stack deploys: call it with (done, current_resource)."""
    return LiveProgress("deploy", total, "resources")


def documents_progress(total: int) -> LiveProgress:
    """Documents finished out of `total`: call it with (done, status_summary(counts))."""
    return LiveProgress("processing", total, "documents done")


def status_summary(counts: Mapping[str, int]) -> str:
    """`2 COMPLETED, 1 FAILED, 3 ANALYZING` (largest first), for the progress detail."""
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n)
