"""The tables docs/cost.md shows, as Markdown, and the marked blocks of the document they live in:
`<!-- cost:NAME -->` ... `<!-- /cost:NAME -->`. bench_cost.py writes them; tests/iac/test_cost_floor.py checks
the ones that follow from the Terraform plan and the price table."""

from __future__ import annotations

import re
from decimal import Decimal

from bench.cost.activity import ActivityItem
from bench.cost.floor import FloorItem
from bench.cost.prices import Prices
from bench.cost.usage import LineItem


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if abs(value) >= 0.0001 else f"${value:.6f}"


def floor_table(items: list[FloorItem]) -> str:
    rows = ["| what | billed | a month |", "|---|---|---|"]
    rows += [f"| {i.what} | {i.quantity} | {usd(i.monthly_usd)} |" for i in items]
    rows.append(f"| **resources, total** | | **{usd(sum(i.monthly_usd for i in items))}** |")
    return "\n".join(rows)


def activity_table(items: list[ActivityItem]) -> str:
    rows = ["| what | billed | a month | basis |", "|---|---|---|---|"]
    rows += [f"| {i.what} | {i.quantity} | {usd(i.monthly_usd)} | {i.basis} |" for i in items]
    rows.append(f"| **always-on activity, total** | | **{usd(sum(i.monthly_usd for i in items))}** | |")
    return "\n".join(rows)


def _quantity(value: float) -> str:
    if value == 0:
        return "0"
    if value >= 10:
        return f"{value:,.1f}"
    if value >= 0.01:
        return f"{value:.3g}"
    return f"{value:.2e}"


def variable_table(items: list[LineItem], total: str = "everything but Textract") -> str:
    rows = ["| service | what | per document | a 1,000 documents | basis |", "|---|---|---|---|---|"]
    rows += [f"| {i.service} | {i.what} | {_quantity(i.per_document)} {i.unit} | {usd(i.usd_per_1000)} | {i.basis} |"
             for i in items]
    rows.append(f"| **{total}** | | | **{usd(sum(i.usd_per_1000 for i in items))}** | |")
    return "\n".join(rows)


def summary_table(rows: list[tuple[str, str, str]]) -> str:
    """(what, default deployment, lean profile) rows."""
    out = ["| | default deployment | lean profile |", "|---|---|---|"]
    out += [f"| {what} | {default} | {lean} |" for what, default, lean in rows]
    return "\n".join(out)


def prices_table(prices: Prices) -> str:
    rows = ["| price | USD | unit | source |", "|---|---|---|---|"]
    for name, value in prices.unit_prices.items():
        rows.append(f"| `{name}` | {_plain(value)} | {prices.units[name]} | {prices.sources[name]} |")
    classes = ", ".join(f"{k} {v:g}" for k, v in prices.rds_instance_hour.items())
    rows.append(f"| `rds_postgres_instance_hour` | {classes} | instance-hour, Single-AZ (Multi-AZ: twice) | "
                f"{prices.rds_source} |")
    return "\n".join(rows)


def _plain(value: float) -> str:
    """A price as written on AWS's pages: 0.000025, not 2.5e-05."""
    return format(Decimal(repr(value)).normalize(), "f")


def _marks(name: str) -> tuple[str, str]:
    return f"<!-- cost:{name} -->", f"<!-- /cost:{name} -->"


def block(text: str, name: str) -> str:
    """The content of the marked block `name`."""
    begin, end = _marks(name)
    match = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    if not match:
        raise KeyError(f"no block {begin} ... {end}")
    return match.group(1)


def replace_block(text: str, name: str, content: str) -> str:
    begin, end = _marks(name)
    block(text, name)  # it must exist
    return re.sub(re.escape(begin) + r"\n.*?\n" + re.escape(end), lambda _: f"{begin}\n{content}\n{end}", text,
                  flags=re.S)
