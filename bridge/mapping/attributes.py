"""OTLP attribute lists → plain Python values, and lenient numeric coercion.

Emitters disagree on types: Codex sends token counts as strings, some SDKs send doubles.
Everything downstream works on plain dicts so each mapping adapter stays small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from bridge import config

Attributes = dict[str, Any]

# Prompt/completion content and tool arguments never reach the database.
CONTENT_KEYS = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "prompt",
        "tool_parameters",
        "tool_input",
        "tool_output",
        # Harness-specific content (Claude Code spans, Gemini CLI and Codex log records).
        "user_prompt",
        "request_text",
        "response_text",
        "function_args",
    }
)
CONTENT_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "input.value",
    "output.value",
    "ai.prompt",
    "ai.response.text",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "ai.response.object",
    "ai.response.reasoning",
    "ai.result.",
    "ai.value",
    "ai.embedding",
    "ai.schema",
    "llm.prompt_template",
    "llm.tools",
    "traceloop.entity.input",
    "traceloop.entity.output",
)


_SCALARS = frozenset({"string_value", "bool_value", "int_value", "double_value"})


def any_value(value: AnyValue) -> Any:
    # A non-empty string_value can only mean the oneof holds a string: the common case is
    # decided by one field read, without WhichOneof.
    string = value.string_value
    if string:
        return string
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind in _SCALARS:
        return getattr(value, kind)
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def to_dict(attributes: Iterable[KeyValue]) -> Attributes:
    out: Attributes = {}
    for kv in attributes:
        value = kv.value
        string = value.string_value  # the common cases, inlined (see any_value)
        if string:
            out[kv.key] = string
            continue
        integer = value.int_value  # non-zero: the oneof holds an int
        out[kv.key] = integer if integer else any_value(value)
    return out


def to_dict_checked(attributes: Iterable[KeyValue]) -> tuple[Attributes, bool]:
    """`to_dict`, and whether the result is clean: no key or string holding NUL or invalid UTF-8,
    no float that is not finite, no nested list and no map (not looked into here). True lets validation
    skip its own walk (`validate_call(..., attributes_clean=True)`); False only means "walk".

    Decided from what the loop already has in hand: the string values joined, the keys joined
    (NUL, ASCII and UTF-8 hold for a join exactly when they hold for every part)."""
    out: Attributes = {}
    strings: list[str] = []
    keep = strings.append
    plain = True
    for kv in attributes:
        value = kv.value
        string = value.string_value
        if string:
            out[kv.key] = string
            keep(string)
            continue
        integer = value.int_value
        if integer:
            out[kv.key] = integer
            continue
        decoded = out[kv.key] = any_value(value)
        kind = type(decoded)
        if kind is float:
            plain = plain and math.isfinite(decoded)
        elif kind is str:
            keep(decoded)
        elif kind is list:
            plain = plain and plain_list(decoded, keep)
        elif not (kind is int or kind is bool or decoded is None):
            plain = False  # a map: validation walks it
    return out, plain and clean_text(out, strings)


def clean_text(out: Attributes, strings: list[str]) -> bool:
    """The keys of `out` and `strings` (every string value, lists' included) hold no NUL and
    are valid UTF-8: decided on their join, which holds exactly when every part does."""
    joined = "".join(out) + "".join(strings)
    return "\x00" not in joined and (joined.isascii() or _utf8(joined))


def plain_list(values: list[Any], keep: Callable[[str], None]) -> bool:
    """A list of scalars (finish reasons, tags): its strings kept for the joined check; False
    for a non-finite float or anything nested."""
    for item in values:
        kind = type(item)
        if kind is str:
            keep(item)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif not (kind is int or kind is bool or item is None):
            return False
    return True


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_content_key(key: str) -> bool:
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


# The content keys of each key sequence, remembered: records of one emitter repeat the same
# keys in the same order. Bounded against junk; past the bound, keys are just tested again.
_CONTENT_BY_SHAPE: dict[tuple[str, ...], frozenset[str]] = {}
_MAX_SHAPES = 4096


def without_content(attributes: Mapping[str, Any]) -> Attributes:
    """A copy of `attributes` without content keys (a new dict even when nothing is dropped)."""
    shape = tuple(attributes)
    drop = _CONTENT_BY_SHAPE.get(shape)
    if drop is None:
        drop = frozenset(key for key in shape if is_content_key(key))
        if len(_CONTENT_BY_SHAPE) < _MAX_SHAPES:
            _CONTENT_BY_SHAPE[shape] = drop
    if not drop:
        return dict(attributes)
    return {k: v for k, v in attributes.items() if k not in drop}


class InvalidNumber(ValueError):
    """A numeric attribute that cannot be a count or an amount; names the attribute."""

    def __init__(self, key: str, value: Any, why: str) -> None:
        super().__init__(f"attribute {key!r}={value!r}: {why}")
        self.key = key


def number(attrs: Mapping[str, Any], *keys: str) -> float | None:
    """First present key among `keys` as a float; int, double and numeric strings accepted."""
    for key in keys:
        if key not in attrs or attrs[key] is None or attrs[key] == "":
            continue
        raw = attrs[key]
        if isinstance(raw, bool):
            raise InvalidNumber(key, raw, "expected a number, got a boolean")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InvalidNumber(key, raw, "not a number") from None
        if math.isnan(value) or math.isinf(value):
            raise InvalidNumber(key, raw, "not a finite number")
        return value
    return None


# A single model call above this many tokens in one bucket is a corrupt emitter, not usage.
MAX_TOKENS_PER_CALL = config.MAX_TOKENS_PER_CALL


def token_count(attrs: Mapping[str, Any], *keys: str) -> int | None:
    """Like `number`, but a token count: a non-negative integer within sane bounds."""
    for key in keys:
        raw = attrs.get(key)
        if type(raw) is int and 0 <= raw <= MAX_TOKENS_PER_CALL:
            return raw  # the usual case: nothing to convert or refuse
        value = number(attrs, key)
        if value is None:
            continue
        if value < 0:
            raise InvalidNumber(key, attrs[key], "token counts cannot be negative")
        if value > MAX_TOKENS_PER_CALL:
            raise InvalidNumber(key, attrs[key], f"more than {MAX_TOKENS_PER_CALL:,} tokens in one call")
        if value != int(value):
            raise InvalidNumber(key, attrs[key], "token counts are whole numbers")
        return int(value)
    return None


def first_key(attrs: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` present with a value: tells an adapter which spelling a source used."""
    for key in keys:
        if attrs.get(key) not in (None, ""):
            return key
    return None


def has_prefix(attrs: Mapping[str, Any], *prefixes: str) -> bool:
    return any(key.startswith(prefixes) for key in attrs)


def text(attrs: Mapping[str, Any], *keys: str) -> str | None:
    """First present, non-empty key as a string."""
    for key in keys:
        raw = attrs.get(key)
        if raw is None or raw == "":
            continue
        if type(raw) is str:
            return raw
        if isinstance(raw, list):
            return ",".join(str(v) for v in raw)
        return str(raw)
    return None


def texts(attrs: Mapping[str, Any], table: tuple[tuple[str, ...], ...]) -> list[str | None]:
    """`[text(attrs, *keys) for keys in table]`, in one loop: the hot path reads a dozen fields
    per record (identity), and a call per field cost more than the lookups themselves."""
    get = attrs.get
    out: list[str | None] = []
    append = out.append
    for keys in table:
        for key in keys:
            raw = get(key)
            if raw is None or raw == "":
                continue
            if type(raw) is str:
                append(raw)
            elif isinstance(raw, list):
                append(",".join(str(v) for v in raw))
            else:
                append(str(raw))
            break
        else:
            append(None)
    return out


def boolean(attrs: Mapping[str, Any], *keys: str) -> bool | None:
    for key in keys:
        raw = attrs.get(key)
        if raw is None or raw == "":
            continue
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)):
            return raw != 0
        return str(raw).strip().lower() in {"true", "1", "yes", "y"}
    return None
