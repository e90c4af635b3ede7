"""The functions' tracer (invoice_pipeline.tracing): where Powertools would trace, handlers are wrapped by the
real Tracer, which patches its libraries and opens a subsegment per invocation; where it would not, they are
left as they are and no Tracer (so no X-Ray SDK) is built. A fake provider stands for the X-Ray recorder."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools import Tracer
from invoice_pipeline import observability
from invoice_pipeline.tracing import LazyTracer, tracing_enabled


@dataclass
class FakeSegment:
    name: str
    annotations: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.metadata["exception"] = exception


@dataclass
class FakeProvider:
    segments: list[FakeSegment] = field(default_factory=list)
    patched: list[Any] = field(default_factory=list)

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[FakeSegment]:
        segment = FakeSegment(str(name))
        self.segments.append(segment)
        yield segment

    def patch_all(self) -> None:
        self.patched.append("all")

    def patch(self, modules: Any) -> None:
        self.patched.append(tuple(modules))

    def put_annotation(self, key: str, value: Any) -> None: ...

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...


@dataclass
class Context:
    function_name: str = "invoice-pipeline-persist"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:invoice-pipeline-persist"
    aws_request_id: str = "req-1"


@pytest.fixture(autouse=True)
def _tracer_config() -> Iterator[None]:
    # Powertools keeps a Tracer's configuration on the class, shared by every Tracer of the process.
    Tracer._reset_config()  # noqa: SLF001
    yield
    Tracer._reset_config()  # noqa: SLF001


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> None:
    """What AWS gives a deployed function with Active tracing."""
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "invoice-pipeline")


def test_enabled_follows_powertools(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    assert tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not tracing_enabled()
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")  # outside Lambda: Powertools does not trace
    assert not tracing_enabled()


def test_traced_handler_opens_a_subsegment_and_patches(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    provider = FakeProvider()
    monkeypatch.setattr(observability, "tracer", LazyTracer(provider=provider))  # type: ignore[arg-type]

    def persist(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"ok": True}

    handler = observability.lambda_entry(persist)
    assert provider.patched == ["all"]  # auto-patch, as Tracer() did at import
    assert handler({"document": {"document_id": "d-1"}}, Context()) == {"ok": True}
    assert [s.name for s in provider.segments] == ["## persist"]
    assert provider.segments[0].annotations["Service"] == "invoice-pipeline"
    assert "ColdStart" in provider.segments[0].annotations


def test_traced_method_and_error(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    provider = FakeProvider()
    tracer = LazyTracer(provider=provider)  # type: ignore[arg-type]

    @tracer.capture_method
    def step() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        step()
    assert [s.name for s in provider.segments] == [f"## {__name__}.test_traced_method_and_error.locals.step"]
    assert any(isinstance(v, ValueError) for v in provider.segments[0].metadata.values())  # the error, captured


def test_untraced_handler_is_left_alone(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    tracer = LazyTracer(provider=FakeProvider())  # type: ignore[arg-type]

    def handler(event: dict[str, Any], context: Any) -> None: ...

    assert tracer.capture_lambda_handler(handler, capture_response=False) is handler
    assert tracer.capture_method(handler) is handler
    assert tracer.capture_method()(handler) is handler
    assert tracer._tracer is None  # noqa: SLF001  no Tracer, so no X-Ray SDK, was built
