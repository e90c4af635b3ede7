"""`invoices accuracy`: the per-field correction rate by engine and by vendor (GET /metrics/accuracy) on the
running local stack, through its API as a script would call the deployed one:

    $ invoices accuracy --from 2026-03-01
    engine textract: 40 approved
      total            3  7.5 %
      vendor.name      1  2.5 %"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlencode

from invoice_local.reprocess_cmd import ReprocessError, _from, _to, call_api
from invoice_local.stack import StackInfo, StackNotRunning
from invoice_local.terminal_text import line

PATH = "/metrics/accuracy"


def fetch(info: StackInfo, since: str, until: str | None) -> dict[str, Any]:
    query = urlencode({"from": since, **({"to": until} if until else {})})
    return call_api(info, None, f"{PATH}?{query}", method="GET")


def lines(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for group in report["groups"]:
        out.append(f"{group['by']} {group['key'] or '(none)'}: {group['reviewed']} approved")
        out += [f"  {f['field']:<28} {f['corrected']:>5}  {100 * f['rate']:.1f} %" for f in group["fields"]]
        if not group["fields"]:
            out.append("  no field corrected")
    return out or ["no invoice approved in this period"]


def cmd_accuracy(args: argparse.Namespace) -> int:
    from invoice_local.commands import CommandError

    try:
        report = fetch(StackInfo.load(args.state_dir), args.since, args.until)
    except (StackNotRunning, ReprocessError) as exc:
        raise CommandError(str(exc)) from exc
    for text in ([json.dumps(report, indent=1)] if args.json else lines(report)):
        line(text)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="since", type=_from, required=True, metavar="DATE",
                   help="invoices approved on or after this day (local time) or moment (RFC 3339)")
    p.add_argument("--to", dest="until", type=_to, metavar="DATE", help="and on or before this day (default: now)")
    p.add_argument("--json", action="store_true", help="the API's answer as it is")
