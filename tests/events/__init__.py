"""The events the handlers receive, as JSON files in this folder, and the one way to load them.

Shapes follow AWS's documentation, values are made up:
- s3_object_created.json: S3's "Object Created" event as EventBridge delivers it (the execution's input).
- sns_textract_completion.json: Textract's completion notification (JobId, Status, API, JobTag, Timestamp,
  DocumentLocation) as the JSON string `Message` of an SNS record in a Lambda event (the Callback function).
- <function>_input.json: what statemachine/invoice_pipeline.asl.json passes each Task's Lambda (one
  schemas/states.schema.json definition each). record_failure_input.json is a Catch's payload: the failed
  state's input with the Catch's {"Error", "Cause"} at $.error (a Lambda error's Cause is the JSON of its
  errorMessage, errorType, requestId and stackTrace), here Register failing on the upload above.
- textract_expense_analysis_failed.json: GetExpenseAnalysis's answer for the job of that notification when
  it FAILED: JobStatus, StatusMessage and Warnings ({ErrorCode, Pages}) as the API reference lists them, the
  reason the notification itself does not carry.
- migrate_input.json: what Terraform's aws_lambda_invocation sends the migrate function.
- sqs_intake_batch.json: the intake queue's batch as the event source mapping delivers it to the intake function,
  its one message's body being s3_object_created.json.
- backfill_input.json: one batch of the backfill's Distributed Map (statemachine/backfill.asl.json): S3
  ListObjectsV2 entries as Step Functions hands them to a child (Etag, Key, LastModified in epoch seconds,
  Size, StorageClass), the upload above among them, beside a folder marker, an empty object and another
  invoice; the listed bucket is its BatchInput.
The fixtures describe one upload going through the pipeline, so ids, keys and pointers agree across files.

    load_event("sns_textract_completion", Records__0__Sns__Message__Status="FAILED")
    load_event("register_input", **{"event__detail__object__version-id": REMOVE})

An override's name is a path, `__` between keys; a number indexes a list. A path may go through a string
that holds JSON (an SNS Message, a Lambda error's Cause): the string is decoded, changed and encoded again.
REMOVE deletes the key. The last key is created if missing; the ones before it must exist."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent

REMOVE: Any = object()


def event_names() -> list[str]:
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


@cache
def _read(name: str) -> Any:
    path = EVENTS_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no event fixture {name!r}; there are: {', '.join(event_names())}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_event(name: str, **overrides: Any) -> Any:
    """A fresh copy of tests/events/<name>.json with `overrides` applied."""
    event = copy.deepcopy(_read(name))
    for path, value in overrides.items():
        event = _set(event, path.split("__"), path, value)
    return event


def _set(node: Any, keys: list[str], path: str, value: Any) -> Any:
    """`node` with `value` at `keys`: returns the node, re-encoded when it was a JSON string."""
    if isinstance(node, str):
        try:
            decoded = json.loads(node)
        except json.JSONDecodeError:
            raise KeyError(f"{path}: cannot go into a string that is not JSON: {node[:60]!r}") from None
        return json.dumps(_set(decoded, keys, path, value))
    key, rest = keys[0], keys[1:]
    if isinstance(node, list):
        index = int(key)
        if rest:
            node[index] = _set(node[index], rest, path, value)
        elif value is REMOVE:
            del node[index]
        else:
            node[index] = value
        return node
    if not isinstance(node, dict):
        raise KeyError(f"{path}: {key!r} is below a {type(node).__name__}, not an object")
    if rest:
        if key not in node:
            raise KeyError(f"{path}: no {key!r} in the fixture (only the last key may be new)")
        node[key] = _set(node[key], rest, path, value)
    elif value is REMOVE:
        node.pop(key, None)
    else:
        node[key] = value
    return node
