"""The AnalyzeExpense / GetExpenseAnalysis response shape, built from what the engine found.

Only what the shared parser and Textract's documented shape need: ExpenseDocuments with SummaryFields and
LineItemGroups, every field with Type, LabelDetection and ValueDetection (Text, Geometry in page ratios with
a four-point Polygon, Confidence 0..100), PageNumber, Currency and GroupProperties where they apply, and
DocumentMetadata.Pages. Textract's Blocks (every LINE and WORD again) are left out: nothing downstream reads
them and they would multiply the size of a result."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from invoice_local.engine.model import Box


@dataclass(frozen=True)
class PageSize:
    width: float
    height: float


def geometry(box: Box, size: PageSize) -> dict[str, Any]:
    left = _ratio(box.left / size.width)
    top = _ratio(box.top / size.height)
    right = _ratio(box.right / size.width)
    bottom = _ratio(box.bottom / size.height)
    return {
        "BoundingBox": {"Width": right - left, "Height": bottom - top, "Left": left, "Top": top},
        "Polygon": [
            {"X": left, "Y": top}, {"X": right, "Y": top}, {"X": right, "Y": bottom}, {"X": left, "Y": bottom},
        ],
    }


def _ratio(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 6)


def _confidence(value: float) -> float:
    return round(min(max(value, 0.0), 100.0), 4)


@dataclass(frozen=True)
class Detection:
    text: str
    box: Box | None
    confidence: float


def expense_field(
    type_: str,
    value: Detection,
    *,
    page: int,
    size: PageSize,
    type_confidence: float,
    label: Detection | None = None,
    currency: tuple[str, float] | None = None,
    group: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One SummaryField or LineItemExpenseField. `group` is (Textract group type, group id)."""
    field: dict[str, Any] = {
        "Type": {"Text": type_, "Confidence": _confidence(type_confidence)},
        "ValueDetection": _detection(value, size),
        "PageNumber": page,
    }
    if label is not None and label.text:
        field["LabelDetection"] = _detection(label, size)
    if currency is not None:
        field["Currency"] = {"Code": currency[0], "Confidence": _confidence(currency[1])}
    if group is not None:
        field["GroupProperties"] = [{"Types": [group[0]], "Id": group[1]}]
    return field


def _detection(detection: Detection, size: PageSize) -> dict[str, Any]:
    out: dict[str, Any] = {"Text": detection.text, "Confidence": _confidence(detection.confidence)}
    if detection.box is not None:
        out["Geometry"] = geometry(detection.box, size)
    return out


def group_id() -> str:
    return str(uuid.uuid4())


def expense_document(index: int, summary: list[dict[str, Any]], line_items: list[list[dict[str, Any]]]) -> dict[
        str, Any]:
    groups = []
    if line_items:
        groups.append({
            "LineItemGroupIndex": 1,
            "LineItems": [{"LineItemExpenseFields": fields} for fields in line_items],
        })
    return {"ExpenseIndex": index, "SummaryFields": summary, "LineItemGroups": groups}


def response_page(page_count: int, documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One GetExpenseAnalysis result page (without JobStatus, which the emulation adds)."""
    return {
        "DocumentMetadata": {"Pages": page_count},
        "ExpenseDocuments": documents,
        "AnalyzeExpenseModelVersion": "local-1.0",
    }
