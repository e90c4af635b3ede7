"""Which Textract jobs of the local stack nobody waits for any more, so the emulation stops their analysis
(emulation/textract.py, `abandoned`).

On AWS a job whose execution gave up (TaskTimedOut, an aborted execution) runs on to its end on Textract's
machines and costs the pipeline nothing but the charge. Locally the engine runs on the same few cores as
every other document: a 3,000-page analysis left running after its document was marked FAILED slowed
everything else for minutes. A job is abandoned once its document is final (FAILED, COMPLETED, ...): the
execution that started it has ended, and a reprocess starts its own job."""

from __future__ import annotations

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.domain.status import TERMINAL

# The documents of these JobTags that are final; a tag StartAnalysis never stored is not ours to stop.
_FINAL_SQL = """
SELECT t.id AS tag, d.id AS document_id, d.status, d.error_code
FROM task_tokens t JOIN documents d ON d.id = t.document_id
WHERE t.id = ANY(CAST(:tags AS text[])) AND d.status = ANY(CAST(:final AS text[]))
"""


def abandoned(tags: list[str]) -> dict[str, str]:
    """Of these JobTags, the ones nobody waits for any more, each with why (one query for all of them)."""
    if not tags:
        return {}
    with transaction() as con:
        found = rows(con, _FINAL_SQL, tags=list(tags), final=sorted(str(s) for s in TERMINAL))
    return {row["tag"]: (f"nobody waits for its result: document {row['document_id']} is {row['status']}"
                         + (f" ({row['error_code']})" if row["error_code"] else "")) for row in found}
