"""Reading protobuf wire bytes into plain Python values: the primitives of the OTLP record
reader (bridge/mapping/wire_records.py), and AnyValue and KeyValue lists as the bridge's
attribute dicts.

Why: reading attributes through the protobuf runtime's Python objects (upb) costs a wrapper
object and a field lookup by name per access, ~0.7 µs per attribute, 15.8 of the 38 µs the
Python path spent per span (docs/scale.md "The wire reader"). Walking the bytes, compiled by
mypyc, builds the same values without those objects. Interpreted it is about twice as slow as
upb's objects, so the bridge uses it only compiled (`records.WIRE_READS`).

Safety: the bytes are never the sender's: they are upb's own encoding of a message it already
parsed and validated (UTF-8 included): each singular field at most once, one member of a
oneof. Anything unexpected (a group, a string-table index, a known field of AnyValue or
KeyValue with another wire type, a length past the end) raises `Unusual`, and the caller reads
that message through the protobuf objects instead: the reference these readers are tested
against (tests/test_wire.py).

Values follow `attributes.any_value` and `to_dict_checked` exactly: strings as str, bools,
ints as signed 64-bit, doubles, arrays as lists, kvlists as dicts, bytes as hex text, an empty
AnyValue as None; the clean flag by the same rule.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from bridge.mapping.attributes import Attributes, clean_text, plain_list

_DOUBLE = struct.Struct("<d")


class Unusual(ValueError):
    """Bytes this reader does not handle: read them through the protobuf objects instead."""


def varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise Unusual("truncated varint")
    byte = buf[pos]
    pos += 1
    if byte < 0x80:
        return byte, pos
    result = byte & 0x7F
    shift = 7
    while True:
        if pos >= end or shift > 63:
            raise Unusual("bad varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def read_tag(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A field's tag (number << 3 | wire type) and the position after it; field numbers below
    16, every one the readers keep, take one byte."""
    tag = buf[pos]
    if tag < 0x80:
        return tag, pos + 1
    return varint(buf, pos, end)


def length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's (start, stop)."""
    if pos < end and buf[pos] < 0x80:  # most lengths: one byte
        size = buf[pos]
        pos += 1
    else:
        size, pos = varint(buf, pos, end)
    stop = pos + size
    if stop > end:
        raise Unusual("length past the end")
    return pos, stop


def skip(buf: bytes, wire: int, pos: int, end: int) -> int:
    """Past a field this reader does not keep (unknown, or known and unused)."""
    if wire == 0:
        return varint(buf, pos, end)[1]
    if wire == 2:
        return length(buf, pos, end)[1]
    if wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    else:
        raise Unusual(f"wire type {wire}")
    if pos > end:
        raise Unusual("fixed field past the end")
    return pos


def read_text(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """A length-delimited string field's value and the position after it."""
    start, pos = length(buf, pos, end)
    return buf[start:pos].decode("utf-8"), pos


def read_hex(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """A bytes field (a trace or span id) as lowercase hex, and the position after it."""
    start, pos = length(buf, pos, end)
    return buf[start:pos].hex(), pos


def read_fixed64(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A fixed64 field's value (nanoseconds) and the position after it."""
    if pos + 8 > end:
        raise Unusual("fixed64 past the end")
    return int.from_bytes(buf[pos : pos + 8], "little"), pos + 8


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def any_value(buf: bytes, pos: int, end: int) -> Any:
    """An AnyValue's value, as `attributes.any_value` returns it; None when it holds none."""
    value: Any = None
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        number = tag >> 3
        wire = tag & 7
        if number == 1 and wire == 2:
            value, pos = read_text(buf, pos, end)
        elif number == 3 and wire == 0:
            raw, pos = varint(buf, pos, end)
            value = _signed64(raw)
        elif number == 2 and wire == 0:
            raw, pos = varint(buf, pos, end)
            value = raw != 0
        elif number == 4 and wire == 1:
            if pos + 8 > end:
                raise Unusual("double past the end")
            value = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif number == 5 and wire == 2:
            start, pos = length(buf, pos, end)
            value = _array(buf, start, pos)
        elif number == 6 and wire == 2:
            start, pos = length(buf, pos, end)
            value = _kvlist(buf, start, pos)
        elif number == 7 and wire == 2:
            value, pos = read_hex(buf, pos, end)
        elif number <= 8:
            raise Unusual(f"AnyValue field {number}")  # a string-table index, or a wrong wire type
        else:
            pos = skip(buf, wire, pos, end)
    return value


def _array(buf: bytes, pos: int, end: int) -> list[Any]:
    values: list[Any] = []
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x0A:  # 1: values, length-delimited
            start, pos = length(buf, pos, end)
            values.append(any_value(buf, start, pos))
        elif tag >> 3 == 1:
            raise Unusual("ArrayValue.values wire type")
        else:
            pos = skip(buf, tag & 7, pos, end)
    return values


def _key_value(buf: bytes, pos: int, end: int) -> tuple[str, int, int]:
    """A KeyValue's key and its value's (start, stop); (-1, -1) when it has no value."""
    key = ""
    vstart = vstop = -1
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x0A:  # 1: key
            key, pos = read_text(buf, pos, end)
        elif tag == 0x12:  # 2: value
            vstart, pos = length(buf, pos, end)
            vstop = pos
        elif tag >> 3 <= 3:
            raise Unusual(f"KeyValue field {tag >> 3}")  # key_strindex, or a wrong wire type
        else:
            pos = skip(buf, tag & 7, pos, end)
    return key, vstart, vstop


def _kvlist(buf: bytes, pos: int, end: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x0A:  # 1: values
            start, pos = length(buf, pos, end)
            key, vstart, vstop = _key_value(buf, start, pos)
            out[key] = any_value(buf, vstart, vstop) if vstart >= 0 else None
        elif tag >> 3 == 1:
            raise Unusual("KeyValueList.values wire type")
        else:
            pos = skip(buf, tag & 7, pos, end)
    return out


class AttributeReader:
    """A KeyValue list being read: the dict, the strings seen and whether all is plain (the
    inputs of `to_dict_checked`'s clean rule)."""

    def __init__(self) -> None:
        self.out: Attributes = {}
        self.strings: list[str] = []
        self.plain = True

    def add(self, buf: bytes, pos: int, end: int) -> None:
        """One KeyValue (the bytes of attributes' element)."""
        key, vstart, vstop = _key_value(buf, pos, end)
        value: Any = any_value(buf, vstart, vstop) if vstart >= 0 else None
        self.out[key] = value
        kind = type(value)
        if kind is str:
            self.strings.append(value)
        elif kind is float:
            self.plain = self.plain and math.isfinite(value)
        elif kind is list:
            self.plain = self.plain and plain_list(value, self.strings.append)
        elif not (kind is int or kind is bool or value is None):
            self.plain = False  # a map: validation walks it

    def result(self) -> tuple[Attributes, bool]:
        """The dict and `to_dict_checked`'s clean flag: plain, no NUL, valid UTF-8 throughout."""
        return self.out, self.plain and clean_text(self.out, self.strings)
