"""A burst's report (burst.Report) as a person reads it: one line per measure, plain text."""

from __future__ import annotations

from typing import Any


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def _failed(report: Any, load: dict[str, str]) -> str:
    if not report.failed_by_error:
        return "none"
    parts = []
    for code, n in sorted(report.failed_by_error.items(), key=lambda kv: -kv[1]):
        parts.append(f"{code} {n}" + (f" (LOAD: {load[code]})" if code in load else ""))
    return f"{sum(report.failed_by_error.values())}: " + ", ".join(parts)


def _lambda(report: Any) -> str:
    rows = [f"{name} {s['peak']}/{s['peak_environments']}/{s['invocations']}/{s['throttles']}/"
            f"{s['duration_ms_p50']:.0f}" for name, s in report.lambda_functions.items() if s["database"]]
    return ("functions that connect (peak in flight/peak environments/invocations/throttled/median ms): "
            + ", ".join(rows))


def render(report: Any) -> str:
    from invoice_local.burst import load_caused_codes

    t, pg, acc, base = report.textract, report.postgres, report.lambda_account, report.baseline
    q = t["quotas"]
    final = {k: v for k, v in report.statuses.items()}
    not_final = report.documents - report.final
    refused = _counts(t["refused"]) if t["refused"] else "none"
    pg_refused = "not counted" if pg["refused"] is None else str(pg["refused"])
    processing = report.processing_seconds
    lines = [
        f"burst       {report.documents} distinct documents, {report.uploaded} uploaded in "
        f"{report.seconds_to_upload:.1f} s",
        f"limits      Textract {q['start_tps']} starts/s, {q['get_tps']} gets/s, {q['max_jobs']} jobs at once, "
        f"jobs {t['job_seconds']:.1f} s; Postgres max_connections {pg['max_connections']}",
        f"final       {report.final}/{report.documents} ({_counts(final)}); not final {not_final}",
        f"lost        {report.lost}" + (f" (e.g. {', '.join(report.lost_keys[:3])})" if report.lost else ""),
        f"duplicated  {report.duplicated_invoices} invoice rows beyond one per object; "
        f"{report.documents_beyond_one_per_object} documents beyond one per object; "
        f"{report.final_without_invoice} finished without an invoice row",
        f"failed      {_failed(report, load_caused_codes())}; load-caused {report.load_caused_failed}"
        + (f"; where: {_counts(report.failed_from_status)}" if report.failed_from_status
           else ""),
        f"executions  {_counts(report.executions)}"
        + (f"; failed by Error: {_counts(report.execution_errors)}" if report.execution_errors else ""),
        f"textract    StartExpenseAnalysis at most {t['start_rate_max_1s']} accepted in any 1 s (quota "
        f"{q['start_tps']}; attempts at most {t['start_attempts_max_1s']}), jobs at once at most "
        f"{t['max_concurrent_jobs']} (quota {q['max_jobs']}), GetExpenseAnalysis at most {t['get_rate_max_1s']}/s; "
        f"refused: {refused}",
        f"postgres    peak {pg['peak_server']} client connections of {pg['max_connections']} allowed (the "
        f"functions' {pg['peak_application']}, budget {pg['connection_budget']}; at most {pg['peak_active']} "
        f"running a statement at once; {pg['samples']} samples); refused by Postgres: {pg_refused}",
        f"lambda      account: at most {acc['peak']} in flight, {acc['peak_environments']} environments; "
        + _lambda(report),
        f"time        wall {report.wall_seconds:.1f} s; first final {report.first_final_seconds} s, last final "
        f"{processing} s after the first upload: {base['documents_per_minute']:.1f} documents/min",
        f"baseline    the start rate alone allows {base['documents_per_minute_at_start_rate']:.0f} documents/min: "
        f"at least {base['minimum_seconds_at_start_rate']:.1f} s for {report.documents}; this run reached "
        f"{100 * base['share_of_start_rate']:.0f}% of that bound",
        f"memory      peak {report.peak_memory_mb:.0f} MB ({report.memory_method})",
    ]
    return "\n".join(lines)
