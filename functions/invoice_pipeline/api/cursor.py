"""The cursor of GET /documents: an opaque, URL-safe token holding the last row's keyset position
(created_at, id) and a fingerprint of the filters it was issued for.

Keyset, not OFFSET: the next page starts strictly after the last row seen, in the order
(created_at DESC, id DESC), so documents that arrive while a client pages through the list (they are newer
than every row already seen) neither shift the pages nor repeat a row. The fingerprint makes a cursor
issued for one set of filters fail loudly (BAD_CURSOR) with another, instead of silently skipping rows.
It is not signed: a forged cursor can only position a listing the caller may read anyway."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from invoice_pipeline.api.errors import ApiError, Code

VERSION = 1
MAX_LENGTH = 512  # ours are about 130 characters; anything much longer is not one of ours


def fingerprint(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(created_at: datetime, doc_id: uuid.UUID, filters_fingerprint: str) -> str:
    payload = {"v": VERSION, "t": created_at.isoformat(), "i": str(doc_id), "f": filters_fingerprint}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(message: str) -> ApiError:
    return ApiError(Code.BAD_CURSOR, message)


def decode(token: str, filters_fingerprint: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) position a cursor points after; BAD_CURSOR for anything we did not issue for
    these filters."""
    if not token or len(token) > MAX_LENGTH:
        raise _bad("cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad("cursor is not one this API issued") from None
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise _bad("cursor is not one this API issued")
    try:
        created_at = datetime.fromisoformat(payload["t"])
        doc_id = uuid.UUID(payload["i"])
    except (KeyError, TypeError, ValueError):
        raise _bad("cursor is not one this API issued") from None
    if created_at.tzinfo is None:
        raise _bad("cursor is not one this API issued")
    if payload.get("f") != filters_fingerprint:
        raise _bad("cursor was issued for other filters: repeat the first request with these filters")
    return created_at, doc_id
