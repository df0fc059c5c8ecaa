"""OTLP wire formats → protobuf messages: one code path after this, whatever arrived.

OTLP/JSON differs from protobuf's canonical JSON mapping in one way that matters: trace
and span ids are hex strings, not base64. Everything else (camelCase or snake_case
names, int64 as string or number, integer enums) `json_format` already accepts; unknown
fields are ignored as the OTLP spec requires.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from bridge import config
from bridge.errors import BadRequest

M = TypeVar("M", bound=Message)

ID_FIELDS = {"traceId": 16, "trace_id": 16, "spanId": 8, "span_id": 8, "parentSpanId": 8, "parent_span_id": 8}
# Containers on the path from the request root to objects that carry ids.
ID_CONTAINERS = (
    "resourceSpans",
    "resource_spans",
    "scopeSpans",
    "scope_spans",
    "spans",
    "links",
    "resourceLogs",
    "resource_logs",
    "scopeLogs",
    "scope_logs",
    "logRecords",
    "log_records",
)


class DecodeError(BadRequest):
    """The body is not a valid OTLP message; the text names the problem for the sender."""


def decode_protobuf(body: bytes | bytearray, message_type: type[M]) -> M:
    message = message_type()
    try:
        message.ParseFromString(body)  # type: ignore[arg-type]  # upb reads any buffer, bytearray too
    except ProtobufDecodeError as exc:
        raise DecodeError(
            f"body is not a valid {message_type.DESCRIPTOR.full_name} protobuf: {exc}"
        ) from None
    return message


def _hex_ids_to_base64(node: Any, path: str) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            _hex_ids_to_base64(item, f"{path}[{i}]")
        return
    if not isinstance(node, dict):
        return
    for key, size in ID_FIELDS.items():
        value = node.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise DecodeError(f"{path}.{key}: expected a hex string")
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise DecodeError(f"{path}.{key}: {value!r} is not hex") from None
        if len(raw) != size:
            raise DecodeError(f"{path}.{key}: expected {size * 2} hex digits, got {len(value)}")
        node[key] = base64.b64encode(raw).decode()
    for key in ID_CONTAINERS:
        if key in node:
            _hex_ids_to_base64(node[key], f"{path}.{key}" if path else key)


def decode_json(body: bytes | bytearray, message_type: type[M]) -> M:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise DecodeError(
            f"body is not valid OTLP/JSON: nested too deeply (at most {config.JSON_MAX_DEPTH} levels)"
        ) from None
    if not isinstance(document, dict):
        raise DecodeError(f"expected a JSON object for {message_type.DESCRIPTOR.full_name}")
    _hex_ids_to_base64(document, "")
    message = message_type()
    try:
        json_format.ParseDict(
            document, message, ignore_unknown_fields=True, max_recursion_depth=config.JSON_MAX_DEPTH
        )
    except RecursionError:
        raise DecodeError(
            f"body is not valid OTLP/JSON: nested too deeply (at most {config.JSON_MAX_DEPTH} levels)"
        ) from None
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        if "too deep" in str(exc):  # json_format's own depth limit; its message repeats every level
            raise DecodeError(
                f"body is not valid OTLP/JSON: nested too deeply (at most {config.JSON_MAX_DEPTH} levels)"
            ) from None
        raise DecodeError(
            f"body is not a valid OTLP/JSON {message_type.DESCRIPTOR.full_name}: {exc}"
        ) from None
    return message


def encode_json(message: Message) -> bytes:
    """OTLP/JSON response body (camelCase, int64 as strings per the protobuf JSON mapping)."""
    return json.dumps(json_format.MessageToDict(message)).encode()
