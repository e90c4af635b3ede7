"""The `invoices` command. Each subcommand is a small function registered in `build_parser`, so later ones
(up, trace, ...) slot in beside `normalize`, `demo` and `eval` without touching the others.

Errors the user can fix (a missing file, a file that is not an expense response) print one line on stderr and
exit with status 2; a traceback would only bury the file name. An unexpected error prints one line too, naming
the error and the file its traceback went to (`<state dir>/logs/cli.log`), and exits with status 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invoice_pipeline.domain.textract import ENGINES, check_expense_response, normalize_expense
from invoice_pipeline.errors import PipelineError

from invoice_local.terminal_text import line, printable_json

PROG = "invoices"
EXIT_USAGE = 2
EXIT_UNEXPECTED = 1
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem with the user's input, reported as one line."""


def _load_response(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not JSON (not UTF-8 text)") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        response = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        check_expense_response(response, where=str(path))
    except PipelineError as exc:
        raise CliError(exc.message) from None
    return response


def _normalize(responses: list[dict[str, Any]], engine: str, files: Sequence[Path]) -> dict[str, Any]:
    try:
        return normalize_expense(responses, engine=engine)
    except PipelineError as exc:
        raise CliError(f"{', '.join(map(str, files))}: {exc.message}") from None


def cmd_normalize(args: argparse.Namespace) -> int:
    files: list[Path] = args.responses
    responses = [_load_response(path) for path in files]
    if args.separate:
        result: Any = [_normalize([r], args.engine, [p]) for r, p in zip(responses, files, strict=True)]
    else:
        result = _normalize(responses, args.engine, files)
    sys.stdout.write(printable_json(json.dumps(result, indent=2, ensure_ascii=False)) + "\n")
    return 0


def cmd_einvoice(args: argparse.Namespace) -> int:
    from invoice_pipeline.domain.einvoice import read_einvoice

    documents = []
    for path in args.files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise CliError(f"{path}: no such file") from None
        except OSError as exc:
            raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            documents.append(read_einvoice(content))
        except PipelineError as exc:
            raise CliError(f"{path}: {type(exc).__name__}: {exc.message}") from None
    json.dump(documents[0] if len(documents) == 1 else documents, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _default_labels() -> Path:
    # The shared data sits beside the repository (../shared/data), as for the tests; INVOICE_SHARED_DATA moves it.
    shared = os.environ.get("INVOICE_SHARED_DATA")
    root = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return root / "invoices" / "labels.jsonl"


def cmd_eval(args: argparse.Namespace) -> int:
    from invoice_local import eval as evaluation

    labels: Path = args.labels or _default_labels()
    if not labels.is_file():
        raise CliError(f"{labels}: no such labels file")
    passes = [p.strip() for p in args.passes.split(",") if p.strip()]
    unknown = [p for p in passes if p not in evaluation.PASSES]
    if unknown or not passes:
        raise CliError(f"--passes takes {', '.join(evaluation.PASSES)} (comma-separated), not {args.passes!r}")
    try:
        from invoice_local.eval_sets import evaluate_all

        evaluate_all(labels, args.report, workers=args.workers, passes=passes, seeds=args.seeds)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Invoice pipeline tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    normalize = commands.add_parser(
        "normalize",
        help="turn Textract expense responses into the normalized invoice JSON",
        description="Print the normalized document (schemas/invoice.schema.json) for Textract AnalyzeExpense "
        "or GetExpenseAnalysis responses. Several files are the NextToken pages of one job, in the order "
        "given.",
    )
    normalize.add_argument("responses", nargs="+", type=Path, metavar="RESPONSE.json")
    normalize.add_argument(
        "--separate", action="store_true", help="treat each file as its own job and print a JSON list"
    )
    normalize.add_argument(
        "--engine", choices=[e for e in ENGINES if e != "e-invoice"], default="textract",
        help="the engine recorded in the output (default: textract)",
    )
    normalize.set_defaults(handler=cmd_normalize)

    einvoice = commands.add_parser(
        "einvoice",
        help="print the normalized invoice of an e-invoice (Factur-X/ZUGFeRD PDF, CII or UBL XML) as JSON",
        description="Read the XML of a Factur-X or ZUGFeRD PDF, or a bare CII or UBL XML (XRechnung, Peppol "
        "BIS), and print the normalized document the pipeline stores for it (schemas/invoice.schema.json, "
        "engine e-invoice). With several files, a JSON list in the order given. A file that is not an "
        "e-invoice is an error naming it.",
    )
    einvoice.add_argument("files", nargs="+", type=Path, metavar="FILE")
    einvoice.set_defaults(handler=cmd_einvoice)

    demo = commands.add_parser(
        "demo",
        help="run the pipeline on the sample documents in the AWS emulation and print the results",
        description="Start Postgres and the in-process AWS emulation, deploy the pipeline (the real state "
        "machine and handlers), process the samples of ../shared/data/textract with their recorded Textract "
        "responses plus one broken file, print a results table, and stop everything.",
    )
    demo.add_argument("--data", type=Path, default=None,
                      help="folder of the samples (default: ../shared/data/textract)")
    demo.set_defaults(handler=cmd_demo)

    from invoice_local.commands import register as register_stack_commands

    register_stack_commands(commands)

    evaluate = commands.add_parser(
        "eval",
        help="measure the local engine's per-field accuracy on a labelled set of documents",
        description="Run the local engine on every document of a labels.jsonl (documents beside it), as they "
        "are and rendered to 150 dpi PNGs, normalize the results like the pipeline does, and compare each "
        "field with its label. Prints a table and writes a JSON report with every expected and predicted value.",
    )
    evaluate.add_argument("--labels", type=Path, default=None,
                          help="labels file (default: ../shared/data/invoices/labels.jsonl)")
    evaluate.add_argument("--report", type=Path, default=Path("build/eval-report.json"),
                          help="where to write the JSON report (default: build/eval-report.json)")
    evaluate.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                          help="worker processes (default: 2, or 1 on a single core)")
    evaluate.add_argument("--passes", default="as_is,rendered",
                          help="comma-separated passes to run: as_is, rendered (default: both)")
    evaluate.add_argument("--no-seeds", dest="seeds", action="store_false",
                          help="skip the generated tuning and held-out seed sets (samples/seeds.py)")
    evaluate.set_defaults(handler=cmd_eval)
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    from invoice_local import demo

    return demo.run(args.data) if args.data else demo.run()


def main(argv: Sequence[str] | None = None) -> int:
    from invoice_local.commands import CommandError
    from invoice_local.deployment import PackageBuildFailed
    from invoice_local.stack import StackCannotStart
    from invoice_local.terraform import TerraformFailed, TerraformUnavailable

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except (CliError, CommandError, StackCannotStart, TerraformUnavailable) as exc:
        line(f"{PROG}: error: {exc}", stderr=True)
        return EXIT_USAGE
    except (TerraformFailed, PackageBuildFailed) as exc:
        # Terraform's (or the package build's) own diagnostics, not a traceback of ours: they say what to fix.
        line(f"{PROG}: error: {exc}", stderr=True)
        return EXIT_UNEXPECTED
    except BrokenPipeError:
        # `invoices normalize ... | head` closed the pipe: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line on the terminal, the traceback in a file
        return _unexpected(exc, args, argv)


def _unexpected(exc: Exception, args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    from invoice_local import logs
    from invoice_local.stack import DEFAULT_STATE_DIR

    folder = Path(getattr(args, "state_dir", None) or DEFAULT_STATE_DIR) / "logs"
    written = logs.record_crash(exc, folder, " ".join([PROG, *(sys.argv[1:] if argv is None else argv)]))
    first = (str(exc).strip().splitlines() or [""])[0]
    line(f"{PROG}: error: {type(exc).__name__}{': ' + first if first else ''} (traceback in {written})", stderr=True)
    return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
