"""Text from outside (file names, vendor names, error causes, log lines) made safe to write to a terminal: the
one function every printer of the CLI uses, rich's (console.py) and plain print()'s alike.

Control characters (an escape sequence that clears or recolours the terminal, a carriage return that
overwrites the line, a bell) and the bidirectional marks and overrides that reorder what is shown are written
as visible escapes: `\\x1b`, `\\r`, `\\t`, `\\u202e`. Without rich: `invoices normalize` needs no more than the
pipeline's own dependencies."""

from __future__ import annotations

import re
import sys

# C0 controls but the newline, DEL, C1 controls, and the bidirectional marks, embeddings, overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: object, *, newlines: bool = True) -> str:
    """`text` safe to write to a terminal: control characters as visible escapes; newlines kept, or written
    as `\\n` when `newlines` is false (a table cell, a progress line)."""
    out = _UNPRINTABLE.sub(_escape, str(text))
    return out if newlines else out.replace("\n", "\\n")


def printable_json(text: str) -> str:
    """JSON text (one document, or one per line) safe to write to a terminal and still valid JSON: what
    json.dumps leaves raw (DEL, C1 controls, bidirectional overrides) as `\\uXXXX` escapes."""
    return _UNPRINTABLE.sub(_json_escape, text)


def line(text: object, *, stderr: bool = False) -> None:
    """print() of text made printable: for what the CLI writes without rich."""
    print(printable(text), file=sys.stderr if stderr else sys.stdout, flush=stderr)
