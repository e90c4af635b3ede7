"""`invoices reprocess`: the bulk recovery after an outage (POST /documents/reprocess) on the running local
stack. It calls the local API with the token the stack printed, as an operator's script calls the deployed
API, so what it prints is what the API answered:

    $ invoices reprocess --status FAILED --error TextractJobFailed --from 2026-03-01
    queued 312 documents for reprocessing (4 skipped: 3 SOURCE_GONE, 1 CONFLICT); the intake starts them ...
      skipped 5f0c1a2e  SOURCE_GONE  s3://invoices-local-ingest/incoming/x.pdf no longer exists

Asking again is safe: a document already queued in the same state is not run twice.

With a document instead of filters (an id as `invoices status` prints it, a prefix, or its key), it runs that
one document again (POST /documents/{id}/reprocess) and says which execution started; a second request
before that execution has moved the document on is refused, in one line saying by which:

    $ invoices reprocess 5f0c1a2e
    reprocessing 5f0c1a2e-...: execution arn:aws:states:...:execution:...:reprocess-5f0c1a2e...
    $ invoices reprocess 5f0c1a2e
    invoices: error: the API refused the request (409 CONFLICT): document 5f0c1a2e-... is already being
    reprocessed from this state by execution arn:aws:states:..."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from invoice_pipeline.api.models import BULK_REPROCESS_MAX
from invoice_pipeline.domain.status import ReprocessableStatus

from invoice_local.stack import StackInfo, StackNotRunning
from invoice_local.terminal_text import line

PATH = "/documents/reprocess"
# The local API function's own timeout is 29 s (it reports what it had no time for); this only guards
# against a server that never answers.
HTTP_TIMEOUT = 120


class ReprocessError(Exception):
    """A failure the user can act on: one line, exit status 2 (invoices' CommandError)."""


def when(text: str, *, end_of_day: bool = False) -> str:
    """--from/--to as the API takes them (RFC 3339 with an offset). A date is that day's local midnight, or
    with `end_of_day` the next one, so that `--to 2026-03-01` includes the 1st; a time without an offset is
    local time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD) or a date and time: {text!r}") from None
    return (moment if moment.tzinfo else moment.astimezone()).isoformat()


def _from(text: str) -> str:
    return when(text)


def _to(text: str) -> str:
    return when(text, end_of_day=True)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= BULK_REPROCESS_MAX:
        raise argparse.ArgumentTypeError(f"must be between 1 and {BULK_REPROCESS_MAX}, not {text}")
    return value


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"status": list(dict.fromkeys(args.status)), "limit": args.limit,
                            "dry_run": args.dry_run}
    if args.error:
        body["error_code"] = list(dict.fromkeys(args.error))
    if args.received_from:
        body["received_from"] = args.received_from
    if args.received_to:
        body["received_to"] = args.received_to
    return body


def call_api(info: StackInfo, body: dict[str, Any] | None, path: str = PATH, *, method: str = "POST") -> dict[str, Any]:
    """One call of the local API with the stack's token (`invoices reprocess`, `invoices accuracy`); a refusal
    or no answer is a ReprocessError with one readable line."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(
        info.api_url + path, data=data, method=method,
        headers={"Authorization": f"Bearer {info.api_token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - the stack's URL
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        raise ReprocessError(_refusal(exc)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReprocessError(f"the local API at {info.api_url} did not answer ({reason}): is the stack "
                             "still starting?") from None


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
        details = "; ".join(f"{d['field']}: {d['problem']}" for d in error.get("details") or [])
        return f"the API refused the request ({exc.code} {error['code']}): {error['message']}" + (
            f" ({details})" if details else "")
    except (ValueError, KeyError, TypeError):
        return f"the API answered {exc.code} {exc.reason}"


def _documents(n: int) -> str:
    return f"{n} document{'' if n == 1 else 's'}"


def summary(result: dict[str, Any], *, limit: int) -> list[str]:
    """What the command prints: one line for the outcome, then one per document left out (as many as the API
    listed)."""
    skipped = result["skipped_count"]
    why = Counter(s["code"] for s in result["skipped"])
    detail = f" ({skipped} skipped: {', '.join(f'{n} {code}' for code, n in why.most_common())})" if skipped else ""
    if result["matched"] == 0:
        lines = ["no document matches the filter: nothing queued"]
    elif result["dry_run"]:
        lines = [f"dry run: {_documents(result['eligible'])} would be queued for reprocessing{detail}; "
                 "nothing was sent"]
    else:
        lines = [f"queued {_documents(result['queued'])} for reprocessing{detail}; the intake starts them at "
                 "its own rate"]
    if result["truncated"]:
        lines.append(f"more documents match than --limit {limit}: run again once these have run, or narrow "
                     "--from/--to")
    if result["failed_to_queue"]:
        lines.append(f"could not queue {_documents(result['failed_to_queue'])}: running the same command again "
                     "is safe")
    lines += [f"  skipped {s['document_id'][:8]}  {s['code']}  {s['reason']}" for s in result["skipped"]]
    lines += [f"  not queued {f['document_id'][:8]}  {f['reason']}" for f in result["failed"]]
    listed = len(result["skipped"]) + len(result["failed"])
    if listed < skipped + result["failed_to_queue"]:
        lines.append(f"  ... and {skipped + result['failed_to_queue'] - listed} more (see the api function's log)")
    return lines


def _document_id(ref: str, info: StackInfo) -> str:
    """A whole id as given; a prefix or a key as `invoices show` resolves it (in the stack's database)."""
    try:
        return str(uuid.UUID(ref.strip()))
    except ValueError:
        from invoice_local import commands

        commands._use_database(info)  # noqa: SLF001
        return str(commands._find_document(ref)["id"])  # noqa: SLF001


def cmd_reprocess(args: argparse.Namespace) -> int:
    from invoice_local.commands import CommandError

    filters = args.status or args.error or args.received_from or args.received_to or args.dry_run
    if (args.document is None) == (not filters):
        raise CommandError("give either one document (its id) or filters (--status ...), not both")
    if args.discard_review and args.document is None:
        raise CommandError("--discard-review is for one document: the bulk reprocess skips reviewed documents")
    try:
        info = StackInfo.load(args.state_dir)
        if args.document is not None:
            doc_id = _document_id(args.document, info)
            query = "?discard_review=true" if args.discard_review else ""
            accepted = call_api(info, None, f"/documents/{doc_id}/reprocess{query}")
            line(f"reprocessing {doc_id}: execution {accepted['execution_arn']}")
            return 0
        result = call_api(info, request_body(args))
    except (StackNotRunning, ReprocessError) as exc:
        raise CommandError(str(exc)) from exc
    for text in summary(result, limit=args.limit):
        line(text)
    return 1 if result["failed_to_queue"] else 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    statuses = [s.value for s in ReprocessableStatus]
    p.add_argument("document", nargs="?", metavar="ID",
                   help="one document to run again (an id, as `invoices status` prints it, or its key)")
    p.add_argument("--status", action="append", choices=statuses, metavar="STATUS",
                   help=f"documents in this final status ({', '.join(statuses)}); repeat for several")
    p.add_argument("--error", action="append", metavar="CODE",
                   help="and with this error code (e.g. TextractJobFailed); repeat for several")
    p.add_argument("--from", dest="received_from", type=_from, metavar="DATE",
                   help="uploaded on or after this day (local time) or moment (RFC 3339)")
    p.add_argument("--to", dest="received_to", type=_to, metavar="DATE",
                   help="uploaded on or before this day (local time), or before this moment (RFC 3339)")
    p.add_argument("--limit", type=_limit, default=1000, metavar="N",
                   help=f"at most N documents, oldest upload first (default 1000, at most {BULK_REPROCESS_MAX})")
    p.add_argument("--dry-run", action="store_true", help="say what would be queued; queue and record nothing")
    p.add_argument("--discard-review", action="store_true",
                   help="one document only: reprocess it even though a reviewer approved, rejected or corrected "
                        "its invoices (the API refuses otherwise, REVIEW_WOULD_BE_LOST); the audit trail records it")
