"""The one definition of the status names. Everything else follows it: the handlers and adapters import it,
the API models are typed with it (so schemas/openapi.json, generated from them, lists these values), and
what cannot import Python (the SQL CHECK constraints, schemas/states.schema.json, the web page) is compared
with it by tests/unit/test_status_definition.py and tests/integration/test_status_constraints.py.

Adding a status is one line here (in flow order) plus a migration that widens the CHECK constraint; the
tests then name every other place that has to learn it."""

from __future__ import annotations

from enum import StrEnum


# documents.status and document_events.from_status/to_status. The docstrings below are also the API's
# description of these values (schemas/openapi.json).
class DocumentStatus(StrEnum):
    """Where a document is in the pipeline, listed in the order it moves through them; the final ones come
    last. FAILED comes with an error code, DUPLICATE with the document whose content it repeats."""

    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"  # waiting for a Textract slot: admission control keeps Textract's quotas
    ANALYZING = "ANALYZING"
    PARSING = "PARSING"
    VALIDATING = "VALIDATING"
    COMPLETED = "COMPLETED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    FAILED = "FAILED"
    DUPLICATE = "DUPLICATE"


# Nothing more happens to a document in one of these (it may still be reprocessed, which starts it over).
TERMINAL: frozenset[DocumentStatus] = frozenset({
    DocumentStatus.COMPLETED, DocumentStatus.NEEDS_REVIEW, DocumentStatus.FAILED, DocumentStatus.DUPLICATE,
})


# What POST /documents/reprocess may select by: a final status that had processing of its own. A DUPLICATE
# never did (reprocess its original); a document on its way is reprocessed by the execution it is in.
class ReprocessableStatus(StrEnum):
    """A final status a document can be reprocessed from (DUPLICATE cannot: reprocess its original)."""

    COMPLETED = DocumentStatus.COMPLETED.value
    NEEDS_REVIEW = DocumentStatus.NEEDS_REVIEW.value
    FAILED = DocumentStatus.FAILED.value


# invoices.validation_status. What validation decides for an invoice is also what it decides for the whole
# document (its final status), hence the same names.
class InvoiceStatus(StrEnum):
    """One invoice's review state: COMPLETED or NEEDS_REVIEW from validation (NEEDS_REVIEW: a rule found an
    error, see its issues), then APPROVED (ready for payment) or REJECTED by a reviewer."""

    COMPLETED = DocumentStatus.COMPLETED.value
    NEEDS_REVIEW = DocumentStatus.NEEDS_REVIEW.value
    APPROVED = "APPROVED"  # a reviewer approved it: ready for payment (api/review.py)
    REJECTED = "REJECTED"  # a reviewer rejected it, with a reason


# What validation can decide: the rest of InvoiceStatus (if any) is set by people, never by the pipeline.
VALIDATION_OUTCOMES: frozenset[InvoiceStatus] = frozenset({InvoiceStatus.COMPLETED, InvoiceStatus.NEEDS_REVIEW})

# What a reviewer decides (domain/review.py): final, nothing but a reprocess changes an invoice in one.
DECISIONS: frozenset[InvoiceStatus] = frozenset({InvoiceStatus.APPROVED, InvoiceStatus.REJECTED})
# The one state in which an invoice may be paid: exports and events call it "ready for payment".
READY_FOR_PAYMENT: InvoiceStatus = InvoiceStatus.APPROVED
