"""How long StartAnalysis waits for Textract's completion of one document: the state's TimeoutSeconds, per
document (the ASL reads it through TimeoutSecondsPath from Register's output).

One wait for every document either fails a long document that is only slow (a 3,000-page PDF is within
Textract's limits) as "the completion notification never came", or lets a lost notification of a one-page
invoice hold its document for as long as the longest could take. So the wait grows with the page count that
Register read, from the wait for one page, and stops at a ceiling. Textract documents no maximum job time;
what it does document is that a JobId, and so the job's result, is valid for 7 days (GetExpenseAnalysis,
Amazon Textract API Reference): waiting longer could never fetch the result, so the ceiling is at most that
(terraform/variables.tf validates it)."""

from __future__ import annotations

import math

JOB_RESULT_DAYS = 7
MAX_WAIT_SECONDS = JOB_RESULT_DAYS * 24 * 3600


def analysis_timeout(page_count: int | None, *, base_seconds: int, per_page_seconds: float,
                     max_seconds: int) -> int:
    """Whole seconds (TimeoutSecondsPath needs a positive integer): `base_seconds` for one page, and
    `per_page_seconds` more for each further page, up to `max_seconds` (never below the base)."""
    pages = max(1, page_count or 1)
    ceiling = min(max(max_seconds, base_seconds), MAX_WAIT_SECONDS)
    return max(1, min(ceiling, base_seconds + math.ceil(per_page_seconds * (pages - 1))))
