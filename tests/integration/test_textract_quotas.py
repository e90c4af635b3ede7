"""The Textract stand-in enforces Textract's quotas with the errors AWS returns, and its record of the calls
measures what a client did: driven through a real boto3 client against the emulation server.

Where a test needs to know which second a call fell in, the stand-in runs on a clock the test moves by hand;
otherwise the assertions hold for any timing (no test measures its own wall time)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from invoice_local.deployment import REGION
from invoice_local.emulation import server
from invoice_local.emulation import textract as standin
from invoice_local.textract_quotas import Quotas

pytestmark = pytest.mark.integration

START, GET = "StartExpenseAnalysis", "GetExpenseAnalysis"
CONTENT = b"%PDF-1.7 an invoice the stand-in has a recorded answer for"
HELD = 3600.0  # job_seconds: jobs stay IN_PROGRESS until a test lets them finish (State.finish_jobs)
WAIT = 30.0  # seconds: a bound on waiting for a job to finish, not a performance assertion


class Clock:
    """A monotonic clock that moves only when told to: a burst happens "within one second" by construction."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def textract(emulation: server.EmulationServer) -> Any:
    # One attempt per call: botocore would otherwise retry throttling itself, and a test counts calls.
    return boto3.client("textract", endpoint_url=emulation.endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=16))


@pytest.fixture
def document(emulation: server.EmulationServer) -> dict[str, str]:
    s3 = boto3.client("s3", endpoint_url=emulation.endpoint, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"quotas-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="incoming/invoice.pdf", Body=CONTENT)
    return {"Bucket": bucket, "Name": "incoming/invoice.pdf"}


@pytest.fixture
def configure() -> Iterator[Callable[..., standin._State]]:
    """standin.configure with a recorded answer for CONTENT; held jobs are let go at the end."""
    states: list[standin._State] = []

    def make(quotas: Quotas, *, clock: Clock | None = None, job_seconds: float = HELD) -> standin._State:
        engine = standin.RecordedResponses()
        engine.add(CONTENT, [{"ExpenseDocuments": []}])
        states.append(standin.configure(engine=engine, faults=standin.Faults(job_seconds=job_seconds),
                                        quotas=quotas, clock=clock))
        return states[-1]

    yield make
    for st in states:
        st.finish_jobs()


def start(textract: Any, document: dict[str, str], token: str | None = None, tag: str | None = None) -> str:
    """The job id, or the error code the stand-in answered with (after checking it came as HTTP 400)."""
    extra = {"ClientRequestToken": token} if token else {}
    if tag:
        extra["JobTag"] = tag
    try:
        return str(textract.start_expense_analysis(DocumentLocation={"S3Object": document}, **extra)["JobId"])
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400, exc.response
        return str(exc.response["Error"]["Code"])


def get(textract: Any, job_id: str) -> str:
    """The job's status, or the error code."""
    try:
        return str(textract.get_expense_analysis(JobId=job_id)["JobStatus"])
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])


def is_job_id(outcome: str) -> bool:
    return not outcome.endswith("Exception")


def test_starts_over_the_rate_are_refused_with_provisioned_throughput_exceeded(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    clock = Clock()
    st = configure(Quotas(start_tps=3, get_tps=50, max_jobs=100), clock=clock)

    burst = [start(textract, document) for _ in range(5)]
    assert [is_job_id(o) for o in burst] == [True, True, True, False, False]
    assert burst[3:] == ["ProvisionedThroughputExceededException"] * 2

    clock.advance(0.999)  # the three accepted calls are still within the last second
    assert start(textract, document) == "ProvisionedThroughputExceededException"
    clock.advance(0.001)  # now exactly one second later: they no longer count
    assert is_job_id(start(textract, document))

    assert st.max_rate(START) == 3
    assert st.refused(START, "ProvisionedThroughputExceededException") == 3
    assert st.max_rate(START, accepted_only=False) == 6  # the refused ones were calls too


def test_starts_spaced_at_the_rate_are_all_accepted(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    clock = Clock()
    st = configure(Quotas(start_tps=4, get_tps=50, max_jobs=100), clock=clock)

    outcomes = []
    for _ in range(12):
        outcomes.append(start(textract, document))
        clock.advance(0.25)  # 4 a second, the quota exactly (0.25 is exact in binary: no rounding drift)

    assert all(is_job_id(o) for o in outcomes), outcomes
    assert st.refused(START) == 0
    assert st.max_rate(START) == 4
    assert [c.job_id for c in st.calls(START)] == outcomes


def test_gets_over_the_rate_are_throttled(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    clock = Clock()
    st = configure(Quotas(start_tps=5, get_tps=2, max_jobs=100), clock=clock)
    job_id = start(textract, document)
    assert is_job_id(job_id)

    assert [get(textract, job_id) for _ in range(2)] == ["IN_PROGRESS"] * 2
    with pytest.raises(ClientError) as refused:
        textract.get_expense_analysis(JobId=job_id)
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    clock.advance(1.0)
    assert get(textract, job_id) == "IN_PROGRESS"

    assert st.max_rate(GET) == 2
    assert st.refused(GET, "ThrottlingException") == 1
    assert {c.job_id for c in st.calls(GET)} == {job_id}
    assert st.refused(START) == 0  # the two APIs have separate quotas


def test_a_start_beyond_the_running_jobs_limit_is_refused_until_one_completes(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    st = configure(Quotas(start_tps=100, get_tps=100, max_jobs=2))
    first, second = start(textract, document), start(textract, document, token="second")
    assert is_job_id(first) and is_job_id(second)

    assert start(textract, document) == "LimitExceededException"
    # A repeat of a running job's request starts nothing, so the limit does not refuse it.
    assert start(textract, document, token="second") == second

    assert st.finish_jobs(first) == 1
    deadline = time.monotonic() + WAIT
    while get(textract, first) == "IN_PROGRESS":
        assert time.monotonic() < deadline, f"job {first} still IN_PROGRESS after {WAIT} s"
        time.sleep(0.05)
    assert get(textract, first) == "SUCCEEDED"

    third = start(textract, document)
    assert is_job_id(third)
    assert start(textract, document) == "LimitExceededException"
    assert st.refused(START, "LimitExceededException") == 2
    assert st.max_concurrent_jobs() == 2
    assert len(st.jobs) == 3


def test_the_same_client_request_token_returns_the_same_job(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    st = configure(Quotas(start_tps=100, get_tps=100, max_jobs=100))
    token = uuid.uuid4().hex

    job_id = start(textract, document, token=token, tag="doc-1")
    assert is_job_id(job_id)
    assert start(textract, document, token=token, tag="doc-1") == job_id
    # Textract: the token "was reused with an operation, but at least one of the other input parameters is
    # different from the previous call".
    assert start(textract, document, token=token, tag="doc-2") == "IdempotentParameterMismatchException"

    assert list(st.jobs) == [job_id]
    assert st.max_concurrent_jobs() == 1
    assert [c.job_id for c in st.calls(START) if c.accepted] == [job_id, job_id]


def test_the_record_of_a_concurrent_burst_shows_the_rate_and_concurrency_the_client_produced(
        configure: Callable[..., standin._State], textract: Any, document: dict[str, str]) -> None:
    """On the real clock: however the burst's calls spread over time, the record accounts for every one of
    them, accepted calls never exceed the rate in any second, and a refusal only ever came with the quota
    used up."""
    st = configure(Quotas(start_tps=3, get_tps=100, max_jobs=100))

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: start(textract, document), range(16)))

    calls = st.calls(START)
    accepted = [c for c in calls if c.accepted]
    assert len(calls) == 16
    assert sorted(c.job_id for c in accepted) == sorted(o for o in outcomes if is_job_id(o))
    assert st.refused(START) == sum(1 for o in outcomes if not is_job_id(o))
    assert all(c.outcome == "ProvisionedThroughputExceededException" for c in calls if not c.accepted)
    assert st.max_rate(START) <= 3
    for refused in (c for c in calls if not c.accepted):
        within = [a for a in accepted if refused.monotonic - 1.0 < a.monotonic <= refused.monotonic]
        assert len(within) >= 3, f"refused at {refused.monotonic} with only {len(within)} accepted in the second"
    # Every accepted start is a job, and every one is still running (held).
    assert st.max_concurrent_jobs() == len(accepted) == len(st.running)
    assert all(c.wall > 0 for c in calls)
