"""Words from an image with rapidocr, whose models ship inside its wheel.

The model files are passed to rapidocr by path: given no path, rapidocr resolves its defaults itself and
downloads any file whose checksum does not match, which must never happen at run time (local mode runs
offline). A missing model is an install problem and fails loudly here instead.

One recogniser per process, built on first use (loading the models takes a moment and most documents are
digital PDFs that never need it). rapidocr keeps per-call settings on the instance, so calls are serialised.
`INVOICE_OCR_THREADS` caps onnxruntime's threads, for callers that run several processes side by side."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from invoice_local.engine.model import Box, Page, Word

_LOCK = threading.Lock()
_ENGINE: Any = None


def model_paths() -> dict[str, Path]:
    import rapidocr

    folder = Path(rapidocr.__file__).resolve().parent / "models"
    found: dict[str, Path] = {}
    for task in ("det", "rec", "cls"):
        matches = sorted(folder.glob(f"*_{task}_*.onnx"))
        if not matches:
            raise RuntimeError(f"rapidocr's bundled {task} model is missing from {folder}: reinstall rapidocr")
        found[task] = matches[-1]
    return found


def _engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        from rapidocr import RapidOCR

        paths = model_paths()
        # Detection runs at rapidocr's default resolution: scaling the page down to 1280 pixels for it saved a
        # fifth of the time but made the recogniser misread sums ("380,00" as "30080") on 150 dpi renderings.
        params: dict[str, Any] = {
            "Global.log_level": "critical",
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
            "Cls.model_path": str(paths["cls"]),
        }
        threads = os.environ.get("INVOICE_OCR_THREADS")
        if threads and threads.isdigit() and int(threads) > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        _ENGINE = RapidOCR(params=params)
    return _ENGINE


def recognize(image: Image.Image, number: int) -> Page:
    """The page's words in pixel coordinates. rapidocr finds text lines and, from its recogniser's character
    alignment, the box of every word in them: real word gaps, so the layout splits OCR'd cells exactly as it
    splits a text layer's."""
    rgb = image.convert("RGB")
    with _LOCK:
        result = _engine()(np.asarray(rgb), return_word_box=True)
    page = Page(number=number, width=float(rgb.width), height=float(rgb.height), source="ocr")
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        return page
    word_lines = getattr(result, "word_results", None) or ()
    for index, (points, text, score) in enumerate(zip(boxes, result.txts, result.scores, strict=False)):
        line_box = _box(points)
        words = word_lines[index] if index < len(word_lines) else ()
        if words and _same_text(words, str(text)):
            for word_text, word_score, word_points in words:
                # Word boxes are as high as their letters; the line's height keeps a line's words aligned.
                box = _box(word_points)
                page.words.append(Word(str(word_text), Box(box.left, line_box.top, box.right, line_box.bottom),
                                       float(word_score) * 100))
        else:
            page.words.extend(_split_words(str(text), line_box, float(score) * 100))
    return page


def _box(points: Any) -> Box:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return Box(min(xs), min(ys), max(xs), max(ys))


def _same_text(words: Any, text: str) -> bool:
    return "".join(str(w[0]) for w in words).replace(" ", "") == text.replace(" ", "")


def _split_words(text: str, box: Box, confidence: float) -> list[Word]:
    """Word boxes in proportion to their length, when the recogniser gave none."""
    parts = text.split()
    if not parts:
        return []
    total = len(" ".join(parts))
    unit = box.width / max(total, 1)
    words: list[Word] = []
    cursor = box.left
    for part in parts:
        right = cursor + unit * len(part)
        words.append(Word(part, Box(cursor, box.top, right, box.bottom), confidence))
        cursor = right + unit
    return words
