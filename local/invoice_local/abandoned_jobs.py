"""Which Textract jobs of the local stack nobody waits for any more, so the emulation stops their analysis
(emulation/textract.py, `abandoned`).

On AWS a job whose execution gave up (TaskTimedOut, an aborted execution) runs on to its end on Textract's
machines and costs the pipeline nothing but the charge. Locally the engine runs on the same few cores as
every other document: a 3,000-page analysis left running after its document was marked FAILED slowed
everything else for minutes. A job is abandoned once its document is final (FAILED, COMPLETED, ...): the
execution that started it has ended, and a reprocess starts its own job."""

from __future__ import annotations

from invoice_pipeline.adapters import repository
from invoice_pipeline.domain.status import TERMINAL
from invoice_pipeline.errors import DocumentNotFound


def abandoned(tag: str) -> str | None:
    """Why nobody waits for the job with this JobTag any more, or None while its document is in progress (or
    the tag is not one StartAnalysis stored: not ours to stop)."""
    row = repository.get_task_token(tag)
    if row is None:
        return None
    try:
        doc = repository.get_document(row["document_id"])
    except DocumentNotFound:
        return f"its document {row['document_id']} no longer exists"
    if doc.status not in TERMINAL:
        return None
    because = f" ({doc.error_code})" if doc.error_code else ""
    return f"nobody waits for its result: document {doc.id} is {doc.status}{because}"
