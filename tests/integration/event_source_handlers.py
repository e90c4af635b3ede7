"""Lambda handlers that tests/integration/test_event_sources.py deploys into the emulation, as a one-file code
package (this file, as `event_source_handlers.py`). They run in worker processes of their own, so the test
sees what they were given through the runner's record of invocations (lambda_runner.invocations: event,
result, the thread that invoked) and how many ran at once through lambda_runner.stats()."""

from __future__ import annotations

import time
from typing import Any

# Long enough that a second batch starts while the first still runs whenever the poller runs them at once.
BATCH_SECONDS = 0.1


def succeed(event: dict[str, Any], context: Any) -> None:
    time.sleep(BATCH_SECONDS)


def fail_first_receive_of_fail_bodies(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A partial batch response: a message whose body starts with "fail" fails on its first delivery only."""
    failed = [r["messageId"] for r in event["Records"]
              if r["body"].startswith("fail") and r["attributes"]["ApproximateReceiveCount"] == "1"]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def raise_error(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("this batch is refused")


def record(event: dict[str, Any], context: Any) -> None:
    pass
