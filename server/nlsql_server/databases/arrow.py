"""Large results as Arrow: a table built from a cursor's rows a batch at a time, and the IPC
stream that carries it to a client that asked for it (docs/protocol.md, "Large results").

pyarrow is imported on first use: a server that never sends Arrow never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows fetched from the cursor at a time once a result goes as Arrow: one record batch each.
ROWS_PER_BATCH = 65_536


class ArrowBuilder:
    """Rows in (as `fetch_bounded` takes them from the cursor), one Arrow table out.

    Each batch of rows becomes a record batch at once, its column types inferred by pyarrow;
    the batches are unified at the end (nulls and integers take the type of the column's other
    values). A column whose values no one Arrow type holds (text beside numbers, integers past
    64 bits) comes as text, as JSON would show it (`str`).
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._tables: list[pa.Table] = []

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add rows already within the caps."""
        if rows:
            self._tables.append(_batch(self.columns, rows)[0])

    def add_within(self, rows: Sequence[Sequence[Any]], room: int, longest: int) -> int | None:
        """Add `rows` if their values take at most `room` bytes and none is longer than
        `longest`: the bytes they take. None, adding nothing, if they may not (then count
        them value by value): sizes are counted in C++ here, as UTF-8 bytes, never fewer
        than `fetch_bounded`'s characters, so what passes here would pass there."""
        table, size, widest = _batch(self.columns, rows)
        if size > room or widest > longest:
            return None
        self._tables.append(table)
        return size

    def table(self) -> pa.Table:
        """Everything added, as one table (its chunks are the batches)."""
        import pyarrow as pa

        if not self._tables:
            return pa.table({name: pa.array([], pa.null()) for name in self.columns})
        try:
            return pa.concat_tables(self._tables, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.concat_tables(_as_text_where_mixed(self._tables))


def _batch(columns: list[str], rows: Sequence[Sequence[Any]]) -> tuple[pa.Table, int, int]:
    """Rows as a table, with the size of their values (text and blobs by length, 8 for any
    other value, a null's too) and the length of the longest text or blob."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .base import _SIZED

    arrays = []
    size = widest = 0
    for index in range(len(columns)):
        values = [row[index] for row in rows]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            array = _text(values)
            lengths = [len(v) if isinstance(v, _SIZED) else 8 for v in values]
            size += sum(lengths)
            widest = max(widest, max(lengths, default=0))
        else:
            if pa.types.is_string(array.type) or pa.types.is_binary(array.type):
                lengths = pc.binary_length(array)
                size += (pc.sum(lengths).as_py() or 0) + 8 * array.null_count
                widest = max(widest, pc.max(lengths).as_py() or 0)
            else:
                size += 8 * len(array)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=columns), size, widest


def _text(values: Sequence[Any]) -> pa.Array:
    import pyarrow as pa

    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _as_text_where_mixed(tables: list[pa.Table]) -> list[pa.Table]:
    """The batches with every column whose batches disagree on a type turned into text."""
    import pyarrow as pa

    mixed = [
        i
        for i in range(tables[0].num_columns)
        if len({t.schema.field(i).type for t in tables} - {pa.null()}) > 1
    ]
    out = []
    for table in tables:
        for i in mixed:
            table = table.set_column(i, table.field(i).name, _text(table.column(i).to_pylist()))
        out.append(table)
    return out


@dataclass(frozen=True)
class ArrowRows:
    """A result's rows as an Arrow table, carried in the result's `arrow` member from the method
    to the transport; the transport sends them as a stream and puts their `ArrowInfo` there."""

    table: Any  # pyarrow.Table

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def stream(self, response: str | None = None) -> pa.Buffer:
        """The rows as an Arrow IPC stream; `response` (JSON) goes in the schema's metadata
        (what `/rpc` does, having no other place for the JSON-RPC envelope)."""
        import pyarrow as pa

        from ..protocol import ARROW_RESPONSE_KEY

        schema = self.table.schema
        if response is not None:
            schema = schema.with_metadata({ARROW_RESPONSE_KEY: response})
        # Written twice: first only counted, so the buffer is allocated once at its size
        # (a growing buffer copies 50 MB over and over).
        counter = pa.MockOutputStream()
        with pa.ipc.new_stream(counter, schema) as writer:
            writer.write_table(self.table)
        buffer = pa.allocate_buffer(counter.size())
        with pa.ipc.new_stream(pa.FixedSizeBufferWriter(buffer), schema) as writer:
            writer.write_table(self.table)
        return buffer

    def head(self, count: int) -> list[list[Any]]:
        """The first `count` rows as Python lists (what a chart reads)."""
        part = self.table.slice(0, count)
        return [list(row) for row in zip(*(c.to_pylist() for c in part.columns), strict=True)]
