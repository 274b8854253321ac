"""The column names and types of a parquet file, read from its footer without pyarrow.

``fsctl validate`` and ``fsctl plan`` check that each local source has the columns its
views need; reading those few hundred bytes should not cost the ~0.15 s of importing
pyarrow (and numpy). A parquet file ends with its metadata (a Thrift ``FileMetaData`` in
the compact protocol), its length (4 bytes, little-endian) and ``PAR1``. Only the schema
(field 2, a flat list of ``SchemaElement`` in depth-first order) is decoded; every other
field is skipped. The types are mapped as pyarrow would read them (see
:func:`_element_type`). A footer this reader cannot decode raises ``ValueError``;
:func:`read_schema` then falls back to pyarrow, so an unusual file is never misjudged.

Format reference: https://github.com/apache/parquet-format (parquet.thrift) and the Thrift
compact protocol specification.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path
from typing import Any

from fsctl.offline.schema import (
    BINARY,
    BOOL,
    DATE,
    FLOAT,
    INTEGER,
    LIST,
    OTHER,
    STRING,
    TIMESTAMP,
    ColumnType,
)

_MAGIC = b"PAR1"
_MAX_FOOTER = 64 * 1024 * 1024

# Thrift compact protocol type ids.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class _Reader:
    """Just enough of the Thrift compact protocol to walk a struct."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ValueError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def binary(self) -> bytes:
        size = self.varint()
        value = self.data[self.pos : self.pos + size]
        if len(value) != size:
            raise ValueError("truncated binary")
        self.pos += size
        return value

    def list_header(self) -> tuple[int, int]:
        head = self.byte()
        size = head >> 4
        if size == 15:
            size = self.varint()
        return size, head & 0x0F

    def fields(self) -> Any:
        """Yield (field id, type) of each field of the struct at the cursor; the caller reads
        or skips each value before asking for the next."""
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            kind, delta = head & 0x0F, head >> 4
            last = last + delta if delta else self.zigzag()
            yield last, kind

    def value(self, kind: int) -> Any:
        """Read a scalar value (bools come in the field header)."""
        if kind == _TRUE:
            return True
        if kind == _FALSE:
            return False
        if kind == _BYTE:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.pos += 8
            return None
        if kind == _BINARY:
            return self.binary()
        raise ValueError(f"not a scalar: {kind}")

    def skip(self, kind: int) -> None:
        if kind in (_TRUE, _FALSE):
            return
        if kind in (_BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY):
            self.value(kind)
        elif kind in (_LIST, _SET):
            size, item = self.list_header()
            for _ in range(size):
                self.skip_item(item)
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip_item(types >> 4)
                    self.skip_item(types & 0x0F)
        elif kind == _STRUCT:
            for _, field_kind in self.fields():
                self.skip(field_kind)
        else:
            raise ValueError(f"unknown thrift type {kind}")

    def skip_item(self, kind: int) -> None:
        """Skip a list element (bools there are one byte each)."""
        if kind in (_TRUE, _FALSE):
            self.byte()
        else:
            self.skip(kind)


def _logical(reader: _Reader) -> tuple[str, dict[int, Any]]:
    """A LogicalType union: (its member's name, that member's scalar fields)."""
    names = {1: "STRING", 2: "MAP", 3: "LIST", 4: "ENUM", 5: "DECIMAL", 6: "DATE", 7: "TIME", 8: "TIMESTAMP",
             10: "INTEGER", 11: "UNKNOWN", 12: "JSON", 13: "BSON", 14: "UUID", 15: "FLOAT16"}  # fmt: skip
    name, members = "", {}
    for field_id, kind in reader.fields():
        if kind != _STRUCT:
            reader.skip(kind)
            continue
        name = names.get(field_id, f"logical {field_id}")
        for member_id, member_kind in reader.fields():
            if member_kind in (_TRUE, _FALSE, _BYTE, _I16, _I32, _I64):
                members[member_id] = reader.value(member_kind)
            else:
                reader.skip(member_kind)
    return name, members


def _elements(footer: bytes) -> list[dict[str, Any]]:
    """The schema elements of a FileMetaData: name, physical type, repetition, children,
    converted type and logical type."""
    reader = _Reader(footer)
    elements: list[dict[str, Any]] = []
    for field_id, kind in reader.fields():
        if field_id != 2 or kind != _LIST:
            reader.skip(kind)
            continue
        size, item = reader.list_header()
        if item != _STRUCT:
            raise ValueError("schema is not a list of structs")
        data = footer
        slots = {1: "type", 3: "repetition", 5: "children", 6: "converted"}
        for _ in range(size):
            # The hot loop (one pass per column): field headers, i32 varints and the name
            # are decoded inline; anything else goes through the reader.
            element: dict[str, Any] = {}
            last = 0
            pos = reader.pos
            while True:
                head = data[pos]
                pos += 1
                if head == 0:
                    break
                kind, delta = head & 0x0F, head >> 4
                if delta:
                    field_id = last + delta
                else:
                    reader.pos = pos
                    field_id = reader.zigzag()
                    pos = reader.pos
                last = field_id
                if kind == _I32 and field_id in slots:
                    b = data[pos]
                    if b < 0x80:  # one-byte varint: the common case
                        pos += 1
                        n = b
                    else:
                        reader.pos = pos
                        n = reader.varint()
                        pos = reader.pos
                    element[slots[field_id]] = (n >> 1) ^ -(n & 1)
                elif kind == _BINARY and field_id == 4:
                    b = data[pos]
                    if b < 0x80:
                        pos += 1
                        length = b
                    else:
                        reader.pos = pos
                        length = reader.varint()
                        pos = reader.pos
                    element["name"] = data[pos : pos + length].decode("utf-8")
                    pos += length
                else:
                    reader.pos = pos
                    if field_id == 10 and kind == _STRUCT:
                        element["logical"] = _logical(reader)
                    else:
                        reader.skip(kind)
                    pos = reader.pos
            reader.pos = pos
            elements.append(element)
        return elements
    raise ValueError("no schema in the footer")


# Physical types and the converted types that matter here (parquet.thrift).
_BOOLEAN, _INT32, _INT64, _INT96, _FLOAT, _DOUBLE_T, _BYTE_ARRAY, _FIXED = range(8)
_UTF8, _LIST_CONVERTED, _ENUM, _DECIMAL, _DATE_C = 0, 3, 4, 5, 6
_TIME_MILLIS, _TIME_MICROS, _TS_MILLIS, _TS_MICROS = 7, 8, 9, 10
_INT_CONVERTED = {11: (8, True), 12: (16, True), 13: (32, True), 14: (64, True),
                  15: (8, False), 16: (16, False), 17: (32, False), 18: (64, False)}  # fmt: skip
_REPEATED = 2


def _element_type(element: dict[str, Any]) -> ColumnType:
    """The type pyarrow gives a primitive column."""
    logical, members = element.get("logical", ("", {}))
    return _primitive(element.get("type"), element.get("converted"), logical, tuple(sorted(members.items())))


@functools.lru_cache(maxsize=256)
def _primitive(physical: int | None, converted: int | None, logical: str, member_items: tuple[Any, ...]) -> ColumnType:
    members = dict(member_items)
    if logical == "INTEGER" or converted in _INT_CONVERTED:
        if logical == "INTEGER":
            bits, unsigned = int(members.get(1, 32)), members.get(2) is False
        else:
            bits, unsigned = _INT_CONVERTED[int(converted or 0)]
        return ColumnType(INTEGER, bits, unsigned=unsigned)
    if logical in ("DECIMAL", "TIME", "UUID") or converted in (_DECIMAL, _TIME_MILLIS, _TIME_MICROS):
        return ColumnType(OTHER, text=(logical or "decimal").lower())
    if logical == "DATE" or converted == _DATE_C:
        return ColumnType(DATE)
    if logical == "TIMESTAMP" or converted in (_TS_MILLIS, _TS_MICROS) or physical == _INT96:
        return ColumnType(TIMESTAMP)
    if logical == "FLOAT16":
        return ColumnType(FLOAT, 16)
    if physical == _BOOLEAN:
        return ColumnType(BOOL)
    if physical == _INT32:
        return ColumnType(INTEGER, 32)
    if physical == _INT64:
        return ColumnType(INTEGER, 64)
    if physical == _FLOAT:
        return ColumnType(FLOAT, 32)
    if physical == _DOUBLE_T:
        return ColumnType(FLOAT, 64)
    if physical == _BYTE_ARRAY:
        if logical in ("STRING", "JSON") or converted == _UTF8:
            return ColumnType(STRING)
        return ColumnType(BINARY)  # ENUM and BSON are read as binary, like unannotated bytes
    return ColumnType(OTHER, text="fixed_size_binary")


def _columns(elements: list[dict[str, Any]]) -> dict[str, ColumnType]:
    """Top-level columns of a depth-first schema (element 0 is the root)."""
    pos = 1

    def node() -> tuple[str, ColumnType]:
        nonlocal pos
        element = elements[pos]
        pos += 1
        children = element.get("children")
        if not children:  # a primitive
            column = _element_type(element)
            if element.get("repetition") == _REPEATED:  # a bare repeated field is a list
                column = ColumnType(LIST, item=column)
            return element["name"], column
        kids = [node() for _ in range(children)]
        logical = element.get("logical", ("", {}))[0]
        if (logical == "LIST" or element.get("converted") == _LIST_CONVERTED) and len(kids) == 1:
            inner = kids[0][1]
            # 3-level (group LIST { repeated group list { element } }) or 2-level lists
            item = inner.item if inner.kind == LIST and inner.item is not None else inner
            return element["name"], ColumnType(LIST, item=item)
        if element.get("repetition") == _REPEATED and len(kids) == 1:
            return element["name"], ColumnType(LIST, item=kids[0][1])
        return element["name"], ColumnType(OTHER, text="struct" if logical != "MAP" else "map")

    out: dict[str, ColumnType] = {}
    root_children = elements[0].get("children", len(elements) - 1)
    for _ in range(root_children):
        name, column = node()
        out[name] = column
    return out


def parse_footer(path: Path) -> dict[str, ColumnType]:
    """Column name -> type, from the footer of the parquet file at ``path``; ValueError if it
    is not a parquet file this reader understands."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size < 12:
            raise ValueError("too small to be parquet")
        handle.seek(size - 8)
        tail = handle.read(8)
        if tail[4:] != _MAGIC:
            raise ValueError("no PAR1 magic at the end")
        length = struct.unpack("<I", tail[:4])[0]
        if length > min(size - 8, _MAX_FOOTER):
            raise ValueError("footer length out of range")
        handle.seek(size - 8 - length)
        footer = handle.read(length)
    try:
        return _columns(_elements(footer))
    except (IndexError, KeyError, UnicodeDecodeError, struct.error) as exc:
        raise ValueError(f"cannot decode the footer: {exc}") from None


def read_schema(path: Path) -> dict[str, ColumnType]:
    """Column name -> type of a parquet file: from the footer, or through pyarrow when the
    footer uses something :func:`parse_footer` does not decode (encrypted footers, say)."""
    try:
        return parse_footer(path)
    except ValueError:
        import pyarrow.parquet as pq

        from fsctl.offline.schema import from_arrow

        return {f.name: from_arrow(f.type) for f in pq.read_schema(path)}
