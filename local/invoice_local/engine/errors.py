"""The engine's failures, as the `ExpenseEngine` protocol defines them: an `EngineError` ends the emulated job
FAILED with its message as the job's StatusMessage (and AnalyzeExpense answers UnsupportedDocumentException)."""

from __future__ import annotations

from invoice_local.emulation.textract import AnalysisCancelled, EngineError

__all__ = ["AnalysisCancelled", "EngineError", "PageTooLarge", "unreadable"]


class PageTooLarge(EngineError):
    """A page or image larger than the engine renders within its memory and pixel budget (engine/budget.py),
    or than Textract accepts."""


def unreadable(message: str) -> EngineError:
    return EngineError(message)
