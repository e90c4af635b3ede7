"""The list cursor: opaque, round-trips exactly, and anything we did not issue is BAD_CURSOR, never a crash."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_pipeline.api import cursor
from invoice_pipeline.api.errors import ApiError, Code

FP = cursor.fingerprint({"statuses": ["COMPLETED"]})


def test_round_trip_keeps_microseconds_and_offset() -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    doc = uuid.uuid4()
    token = cursor.encode(when, doc, FP)
    assert "=" not in token and "/" not in token and "+" not in token  # safe in a query string as is
    assert cursor.decode(token, FP) == (when, doc)


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert cursor.fingerprint({"a": 1, "b": 2}) == cursor.fingerprint({"b": 2, "a": 1})
    assert cursor.fingerprint({"a": 1}) != cursor.fingerprint({"a": 2})


def test_a_cursor_for_other_filters_is_refused() -> None:
    token = cursor.encode(datetime.now(UTC), uuid.uuid4(), FP)
    with pytest.raises(ApiError) as err:
        cursor.decode(token, cursor.fingerprint({}))
    assert err.value.code is Code.BAD_CURSOR and "other filters" in err.value.message


@pytest.mark.parametrize("payload", [
    {"v": 2, "t": "2024-01-01T00:00:00+00:00", "i": str(uuid.uuid4()), "f": FP},
    {"v": 1, "t": "2024-01-01T00:00:00", "i": str(uuid.uuid4()), "f": FP},
    {"v": 1, "t": 5, "i": str(uuid.uuid4()), "f": FP},
    {"v": 1, "t": "2024-01-01T00:00:00+00:00", "i": "nope", "f": FP},
    {"v": 1, "i": str(uuid.uuid4()), "f": FP},
    ["v", 1],
    "text",
])
def test_well_formed_but_foreign_payloads_are_refused(payload: object) -> None:
    token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(ApiError) as err:
        cursor.decode(token, FP)
    assert err.value.code is Code.BAD_CURSOR


@given(st.text(max_size=700))
def test_any_text_is_either_a_cursor_or_bad_cursor(text: str) -> None:
    try:
        cursor.decode(text, FP)
    except ApiError as err:
        assert err.code is Code.BAD_CURSOR
