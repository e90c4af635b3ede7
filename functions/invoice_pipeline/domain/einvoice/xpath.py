"""Walking an e-invoice tree by local element names, so one path serves every namespace version of a syntax
(CII D16B of Factur-X/ZUGFeRD 2.x and the D13B-era names of ZUGFeRD 1.0). The namespace itself is checked
once, when the syntax is identified (detect.py).

A path is "Step/Step/...", a step is one local name or alternatives "A|B" (the first that exists wins), e.g.
"ExchangedDocument|HeaderExchangedDocument/ID"."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from lxml import etree

from invoice_pipeline.domain.money import format_amount
from invoice_pipeline.errors import MalformedEInvoice

__all__ = ["amount", "attr", "children", "first", "local", "text"]

# lxml ships no type information mypy reads here: an element is typed loosely.
Element: TypeAlias = Any


def local(node: Element) -> str:
    tag = node.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _step(nodes: list[Element], step: str) -> list[Element]:
    names = step.split("|")
    for name in names:
        found = [child for node in nodes for child in node if local(child) == name]
        if found:
            return found
    return []


def children(node: Element | None, path: str) -> list[Element]:
    """Every element at the end of `path` below `node`, in document order."""
    if node is None:
        return []
    nodes = [node]
    for step in path.split("/"):
        nodes = _step(nodes, step)
        if not nodes:
            return []
    return nodes


def first(node: Element | None, path: str) -> Element | None:
    found = children(node, path)
    return found[0] if found else None


def text(node: Element | None, path: str | None = None, *, multiline: bool = False) -> str | None:
    """The text of the first element at `path` (or of `node` itself), None when absent or empty. Runs of
    whitespace become one space (an XML's line breaks inside a name are layout, not content); `multiline`
    keeps the line breaks of a free text (payment terms) and drops its empty lines."""
    target = first(node, path) if path else node
    if target is None or target.text is None:
        return None
    raw = str(target.text)
    lines = [" ".join(line.split()) for line in raw.splitlines()] if multiline else [" ".join(raw.split())]
    value = "\n".join(line for line in lines if line)
    return value or None


def attr(node: Element | None, path: str, name: str) -> str | None:
    target = first(node, path)
    value = target.get(name) if target is not None else None
    return value.strip() if value and value.strip() else None


def amount(node: Element | None, path: str | None = None) -> str | None:
    """A decimal as the XML states it ("473.00" stays "473.00", "300" stays "300"); a value that is not a
    decimal number is a malformed invoice, never a guess."""
    raw = text(node, path)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not _plain(raw):
        raise MalformedEInvoice(f"{path or local(node) if node is not None else path}: {raw!r} is not a decimal")
    return format_amount(value)


def _plain(raw: str) -> bool:
    # XSD decimals: optional sign, digits, optional fraction. No exponent, no grouping, no "NaN".
    body = raw[1:] if raw[:1] in "+-" else raw
    integer, _, fraction = body.partition(".")
    return bool(integer or fraction) and (integer + fraction).isdigit()


def each(node: Element | None, path: str) -> Iterator[Element]:
    yield from children(node, path)
