"""OpenTelemetry: one tracer provider per process, OTLP when configured, JSON lines otherwise.

Trace context crosses gRPC calls in metadata (W3C `traceparent`, see grpcutil) and crosses the
long-lived agent stream inside each command and event (`inject` / `extract` below), so a boot is
one trace from the gateway down to the agent and back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

from novamesh.common.config import Config
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_provider: TracerProvider | None = None


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one JSON object per line (the embedded default)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            parent = span.parent
            lines.append(
                json.dumps(
                    {
                        "name": span.name,
                        "service": span.resource.attributes.get("service.name", ""),
                        "trace_id": f"{ctx.trace_id:032x}" if ctx else "",
                        "span_id": f"{ctx.span_id:016x}" if ctx else "",
                        "parent_id": f"{parent.span_id:016x}" if parent else "",
                        "kind": span.kind.name,
                        "start_ns": span.start_time,
                        "end_ns": span.end_time,
                        "status": span.status.status_code.name,
                        "attributes": dict(span.attributes or {}),
                    },
                    default=str,
                )
            )
        with self._lock:
            self._fh.write("\n".join(lines) + "\n")
            self._fh.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._fh.close()


def setup(service: str, config: Config) -> TracerProvider:
    """Install the process-wide tracer provider for `service`."""
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    tel = config.telemetry
    if tel.enabled:
        exporter: SpanExporter
        if tel.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=tel.otlp_endpoint, insecure=True)
        else:
            path = Path(config.expand(tel.trace_dir)) / f"{service}-{os.getpid()}.jsonl"
            exporter = JsonLinesSpanExporter(path)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown() -> None:
    if _provider is not None:
        _provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context into `carrier` (a proto map field or a dict)."""
    propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The trace context a message carried, to parent the spans that handle it."""
    return propagate.extract(dict(carrier))
