"""Field accuracy measured on the team's own invoices: of the invoices a reviewer approved in a period, the
share whose field a reviewer corrected, per field, by engine and by vendor. Read from the audit trail
(invoice_audit), so it counts what people actually changed. A line item's fields count together, whatever the
line ("line_items[].amount"); removing a line counts as "line_items[]"."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

By = Literal["engine", "vendor"]

_LINE = re.compile(r"^line_items\[\d+\]")


@dataclass(frozen=True)
class FieldRate:
    field: str
    corrected: int  # approved invoices of the group whose field was corrected at least once
    rate: float  # corrected / reviewed


@dataclass(frozen=True)
class Group:
    by: By
    key: str  # the engine's name, or the vendor's name as approved ("" when it had none)
    reviewed: int  # approved invoices in the period
    fields: list[FieldRate]  # every field corrected at least once, most corrected first


def field_key(field: str) -> str:
    return _LINE.sub("line_items[]", field)


def correction_rates(reviewed: Iterable[tuple[str, str | None, str | None]],
                     corrections: Iterable[tuple[str, str]]) -> list[Group]:
    """reviewed: (invoice id, engine, vendor) of each approved invoice; corrections: (invoice id, field) of its
    EDIT rows."""
    groups: dict[tuple[By, str], set[str]] = defaultdict(set)
    for invoice, engine, vendor in reviewed:
        groups[("engine", engine or "")].add(invoice)
        groups[("vendor", vendor or "")].add(invoice)
    fixed: dict[str, set[str]] = defaultdict(set)
    for invoice, field in corrections:
        fixed[invoice].add(field_key(field))
    out: list[Group] = []
    for (by, key), invoices in sorted(groups.items()):
        counts: dict[str, int] = defaultdict(int)
        for invoice in invoices:
            for field in fixed.get(invoice, ()):
                counts[field] += 1
        rates = [FieldRate(f, n, round(n / len(invoices), 4)) for f, n in counts.items()]
        out.append(Group(by, key, len(invoices), sorted(rates, key=lambda r: (-r.corrected, r.field))))
    return out
