"""boto3 clients, created once per process and reused across warm invocations."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from invoice_pipeline.tracing import trace_aws_sdk

trace_aws_sdk()  # where tracing is on, every call of the clients below is an X-Ray subsegment

# Standard retry mode backs off on throttling inside the SDK before the state machine's own Retry kicks in.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
# S3 presigned URLs and POST forms signed with Signature Version 4: boto3 would sign a POST form with SigV2 in
# us-east-1, and S3 refuses SigV2 for objects under an AWS KMS key ("Requests specifying Server Side Encryption
# with AWS KMS managed keys require AWS Signature Version 4"), which every bucket here uses.
# PutEvents is not retried by the SDK: an event the bus did not take waits in the outbox (adapters/outbox.py)
# for the next drain, and Persist, which publishes right after its commit, is not held up by an outage.
_SERVICE_CONFIG = {"s3": _CONFIG.merge(Config(signature_version="s3v4")),
                   "events": Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3,
                                    read_timeout=10)}


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_SERVICE_CONFIG.get(service, _CONFIG))  # type: ignore[call-overload]


def reset() -> None:
    """Drop cached clients: a test's AWS mock only sees clients created while it is active."""
    client.cache_clear()


class LazyClient:
    """A handler's AWS port: stands for `client(service)` and looks it up at every call, not at import.

    Handler modules build their ports once at import; the client behind them is still the one cached per
    process (warm invocations reuse it), and one created after a test's AWS mock started (`reset`)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(client(self.service), name)

    def __repr__(self) -> str:
        return f"LazyClient({self.service!r})"
