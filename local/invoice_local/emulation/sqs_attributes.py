"""SQS queue attributes as AWS returns them: a queue's RedrivePolicy is compact JSON.

moto answers GetQueueAttributes with `json.dumps(policy)` (`{"deadLetterTargetArn": "...", "maxReceiveCount":
5}`); SQS returns it without spaces (`{"deadLetterTargetArn":"...","maxReceiveCount":5}`), which is also what
Terraform's jsonencode() writes. The AWS provider compares the two as strings, so every plan over an existing
state would update the intake queue (and wait ~25 s for its attributes) for a change of whitespace. Seam:
moto's `Queue.attributes` property, re-dumping only RedrivePolicy."""

from __future__ import annotations

import json
from typing import Any

from moto.sqs.models import Queue

_original: Any = None


def _attributes(self: Queue) -> dict[str, Any]:
    result: dict[str, Any] = _original.fget(self)
    if self.redrive_policy and "RedrivePolicy" in result:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
    return result


def install() -> None:
    global _original
    if _original is not None:
        return
    _original = Queue.attributes
    Queue.attributes = property(_attributes)  # type: ignore[method-assign,assignment]
