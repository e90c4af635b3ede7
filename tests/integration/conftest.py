"""Integration fixtures beyond tests/pipeline_fixtures.py: moto in decorator mode, for tests of one AWS call
that need no deployed pipeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoice_local.deployment import REGION
from invoice_local.emulation import install as install_emulation
from invoice_pipeline.adapters import aws
from moto import mock_aws


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    install_emulation()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        aws.reset()
        yield
    aws.reset()


