"""Named errors. The class name is the `Error` the state machine sees (Lambda's errorType), so the ASL
catches and retries them by name, RecordFailure stores the name as the document's error code, and the API
shows the same code. Renaming a class is an interface change: update statemachine/ and the tests."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose. `retryable` tells the ASL author which ones the
    state machine retries; the list lives in the ASL, this flag documents and tests it."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Bad input: the document itself is the problem. Never retried. -------------------------------------
class InputError(PipelineError):
    """The uploaded file cannot be processed as it is."""


class EmptyDocument(InputError):
    """The object has zero bytes."""


class DocumentTooLarge(InputError):
    """Over the size limit (Textract async: 500 MB)."""


class TooManyPages(InputError):
    """Over the page limit (Textract async: 3,000 pages)."""


class DocumentDimensionsTooLarge(InputError):
    """A page over Textract's dimension limits: an image (PNG, JPEG, TIFF page) over 10,000 pixels on a side,
    a PDF page over 9,000 points on a side."""


class UnsupportedDocumentType(InputError):
    """The bytes are not PDF, PNG, JPEG or TIFF (sniffed from magic bytes, not from the extension)."""


class EncryptedDocument(InputError):
    """A password-protected PDF: Textract cannot read it."""


class CorruptDocument(InputError):
    """The bytes claim a supported type but cannot be read (a truncated PDF, a broken image)."""


class InvalidEvent(InputError):
    """The state machine input is not an S3 Object Created event we understand."""


# --- E-invoices (domain/einvoice): the structured XML of a Factur-X/ZUGFeRD PDF, or a bare CII or UBL XML. --
class NotAnEInvoice(InputError):
    """The file carries no e-invoice: a PDF without an embedded CII XML under a standard name, or an XML that is
    neither CII nor UBL."""


class UnsupportedEInvoice(InputError):
    """A structured document of a kind this reader does not take (an Order-X order, a CII or UBL document that
    is not an invoice or credit note)."""


class MalformedEInvoice(InputError):
    """The e-invoice XML is not well-formed, or lacks what every invoice must state (its number, its total)."""


class UnsafeXml(InputError):
    """The XML declares a DTD (<!DOCTYPE>): entity declarations are refused outright, which stops entity
    expansion bombs ("billion laughs") and external entities (a local file, a URL) before anything expands."""


class EInvoiceTooLarge(InputError):
    """The e-invoice XML is over the reader's size limit (domain/einvoice/safe_xml.MAX_XML_BYTES)."""


# --- Analysis: Textract said no, or never answered. ----------------------------------------------------
class TextractJobFailed(PipelineError):
    """Textract finished the job with FAILED or ERROR status."""


class TextractPartialSuccess(PipelineError):
    """Textract finished with PARTIAL_SUCCESS: some pages were not analysed, the result is incomplete."""


class TextractThrottled(PipelineError):
    """Textract throttled us or a limit was hit (ProvisionedThroughputExceeded, Throttling, LimitExceeded)."""

    retryable = True


class TextractUnavailable(PipelineError):
    """Textract had an internal error or was unreachable."""

    retryable = True


class TextractRejectedDocument(PipelineError):
    """Textract refused the document (UnsupportedDocument, BadDocument, DocumentTooLarge, InvalidS3Object)."""


# --- Our own processing. ------------------------------------------------------------------------------
class ParseError(PipelineError):
    """The analysis result could not be turned into a normalized invoice."""


class NoInvoiceFound(ParseError):
    """The analysis succeeded but holds no expense document at all."""


class SchemaViolation(PipelineError):
    """A payload or a normalized invoice does not match its JSON Schema."""


class DatabaseUnavailable(PipelineError):
    """Postgres could not be reached; retried by the state machine."""

    retryable = True


class DocumentNotFound(PipelineError):
    """A handler was given a document id that is not in the database."""


class TaskTimedOut(PipelineError):
    """Recorded, not raised: a state's TimeoutSeconds elapsed (Step Functions' States.Timeout), e.g. Textract's
    completion notification never came."""


class TaskTokenNotFound(PipelineError):
    """A Textract notification came with a JobTag we never issued (or one already consumed)."""


# --- Review (issue 12): a reviewer's answer to a possible duplicate (adapters/duplicates.py). ----------------
class InvoiceNotFound(PipelineError):
    """An invoice id that is not in the database."""


class DuplicateNotPending(PipelineError):
    """Clearing or confirming a duplicate flag that is not there, or was already decided."""


# --- The backfill (statemachine/backfill.asl.json). ------------------------------------------------------
class IntakeUnavailable(PipelineError):
    """SQS refused a message for the intake queue (throttled, a service error, the key): the backfill's batch
    is retried whole, which is harmless (a message sent twice starts one execution)."""

    retryable = True


class SourceUnavailable(PipelineError):
    """S3 failed to describe a listed object other than by "not found" (a 5xx, or 403: the source is not
    granted to the function)."""

    retryable = True


class BackfillIncomplete(PipelineError):
    """Not raised: the backfill's Fail state when a batch failed after its retries (the Map Run's
    States.ExceedToleratedFailureThreshold). What was sent before stays sent; running it again is safe."""


class BackfillSourceUnreadable(PipelineError):
    """Not raised: the backfill's Fail state when the listing failed (States.ItemReaderFailed): no such
    bucket, or a bucket/prefix the state machine is not granted."""


ALL_ERRORS: tuple[type[PipelineError], ...] = tuple(
    cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, PipelineError) and cls is not PipelineError
)
