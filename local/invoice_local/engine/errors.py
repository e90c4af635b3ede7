"""The engine's failures, as the `ExpenseEngine` protocol defines them: an `EngineError` ends the emulated job
FAILED with its message (and AnalyzeExpense answers UnsupportedDocumentException)."""

from __future__ import annotations

from invoice_local.emulation.textract import EngineError

__all__ = ["EngineError", "unreadable"]


def unreadable(message: str) -> EngineError:
    return EngineError(message)
