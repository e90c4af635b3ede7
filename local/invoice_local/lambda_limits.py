"""Lambda's concurrency quotas as the emulation enforces them by default (AWS's, per account and region):
read by the emulation's settings and by the CLI's help without importing the emulation."""

from __future__ import annotations

# "Concurrent executions": 1000 by default (new accounts may start lower; Service Quotas raises it).
ACCOUNT_CONCURRENCY = 1000
# Reserved concurrency must leave this much of the account's concurrency unreserved (or the whole limit,
# on an account whose limit is lower): PutFunctionConcurrency refuses otherwise.
UNRESERVED_MINIMUM = 100
