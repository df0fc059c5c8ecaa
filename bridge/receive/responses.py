"""OTLP export responses, shared by both transports so partial success reads the same."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from bridge.ingest import IngestOutcome


def traces_response(outcome: IngestOutcome) -> trace_pb.ExportTraceServiceResponse:
    response = trace_pb.ExportTraceServiceResponse()
    if outcome.rejected:
        response.partial_success.rejected_spans = outcome.rejected
        response.partial_success.error_message = outcome.message
    return response


def logs_response(outcome: IngestOutcome) -> logs_pb.ExportLogsServiceResponse:
    response = logs_pb.ExportLogsServiceResponse()
    if outcome.rejected:
        response.partial_success.rejected_log_records = outcome.rejected
        response.partial_success.error_message = outcome.message
    return response
