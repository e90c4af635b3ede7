"""Textract's default quotas for asynchronous expense analysis, per region: the one place that holds them.

The emulation enforces them (emulation/textract.py) and `invoices up --textract-*` overrides them. Stdlib only:
the CLI reads the defaults for its help text without importing the emulation (moto takes over a second).

Sources:
- Quota kinds, each per account, per region and per API: the Textract developer guide, "Information on Default
  Quotas in Amazon Textract" (https://docs.aws.amazon.com/textract/latest/dg/limits-quotas-explained.html):
  Start and Get operations each have a transactions-per-second quota; asynchronous operations have a maximum
  number of concurrent jobs.
- What a refusal looks like: the API reference of StartExpenseAnalysis and GetExpenseAnalysis
  (https://docs.aws.amazon.com/textract/latest/dg/API_StartExpenseAnalysis.html): ProvisionedThroughputExceeded
  ("the number of requests exceeded your throughput limit"), LimitExceededException (start operations "until the
  number of concurrently running jobs is below the Amazon Textract service limit"), ThrottlingException.
- The numbers: "Amazon Textract endpoints and quotas" (https://docs.aws.amazon.com/general/latest/gr/textract.html)
  as the issue quotes it: StartExpenseAnalysis 5 TPS in us-east-1 and us-west-2, 1 elsewhere; 600 concurrent
  jobs in us-east-1, 100 elsewhere. GetExpenseAnalysis' own default was not confirmed: it is taken equal to
  StartExpenseAnalysis', the stricter guess (a pipeline that stays under it stays under a higher one too).
  An account's applied values can differ: `aws service-quotas list-service-quotas --service-code textract`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"  # the emulation's region (stack.REGION, deployment.REGION)


@dataclass(frozen=True)
class Quotas:
    """What Textract lets one account do in one region. TPS counts accepted calls in any one-second window."""

    start_tps: int  # StartExpenseAnalysis; over it: ProvisionedThroughputExceededException
    get_tps: int  # GetExpenseAnalysis; over it: ThrottlingException
    max_jobs: int  # expense jobs IN_PROGRESS at once; a start beyond it: LimitExceededException

    def __post_init__(self) -> None:
        for name in ("start_tps", "get_tps", "max_jobs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Quotas.{name} must be a whole number >= 1, not {value!r}")

    @classmethod
    def for_region(cls, region: str = DEFAULT_REGION) -> Quotas:
        """AWS's default quotas in `region` (regions without a raised default get the common one)."""
        return _BY_REGION.get(region, _ELSEWHERE)


_ELSEWHERE = Quotas(start_tps=1, get_tps=1, max_jobs=100)
_BY_REGION = {
    "us-east-1": Quotas(start_tps=5, get_tps=5, max_jobs=600),
    "us-west-2": Quotas(start_tps=5, get_tps=5, max_jobs=100),
}
DEFAULTS = Quotas.for_region(DEFAULT_REGION)
