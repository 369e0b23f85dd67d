"""OpenTelemetry tracing, and the W3C ``traceparent`` carried in NATS headers."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def setup_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    """Install a tracer provider once per process; export over OTLP/HTTP when configured.

    Without an endpoint spans are still created and propagated (so traces join up across
    services), just not exported; tests add their own in-memory exporter.
    """
    global _configured
    if _configured:
        return
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
        current = provider
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
        current.add_span_processor(BatchSpanProcessor(exporter))
    _configured = True


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the active span, if there is one."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add the active span's trace context to message headers."""
    propagate.inject(headers)
    return headers


def context_from(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The trace context carried by message headers (empty when there is none)."""
    return propagate.extract(dict(headers or {}))
