"""The local stand-in for Amazon Textract AnalyzeExpense: digital PDFs are read from their text layer,
scanned pages and images with rapidocr, and key fields and line items come out in Textract's response shape,
so `invoice_pipeline.domain.textract.normalize_expense` serves AWS and local mode alike.

    engine = LocalExpenseEngine()
    pages = engine.analyze(pdf_bytes, bucket="b", key="k")   # list of GetExpenseAnalysis-shaped pages
    normalized = normalize_expense(pages, engine="local")

Unreadable input raises `EngineError` (the emulation's), which ends an emulated job FAILED."""

from __future__ import annotations

from invoice_local.engine.analyzer import LocalExpenseEngine
from invoice_local.engine.errors import EngineError

__all__ = ["EngineError", "LocalExpenseEngine"]
