"""OpenLIT spans: GenAI conventions plus `gen_ai.usage.cost`, OpenLIT's own price estimate.

Shapes from openlit/openlit (sdk/python `semcov.SemanticConvention`). The cost is stored as
the reported cost (`reported_cost_usd`); it is OpenLIT's estimate from its pricing table, not a
bill. Framework, task and vector-store spans that OpenLIT adds around the calls are skipped.
"""

from __future__ import annotations

from bridge.mapping.attributes import text
from bridge.mapping.records import SpanRecord
from bridge.mapping.semconv import map_genai_span
from bridge.model import ModelCall

SOURCE = "openlit"
NOT_CALL_OPERATIONS = frozenset({"framework", "execute_task", "vectordb", "retrieve", "workflow"})


def claims(span: SpanRecord) -> bool:
    return span.scope_name.startswith("openlit") or text(span.resource, "telemetry.sdk.name") == "openlit"


def map_span(span: SpanRecord) -> ModelCall | None:
    if text(span.attrs, "gen_ai.operation.name") in NOT_CALL_OPERATIONS:
        return None
    return map_genai_span(span, source=SOURCE)
