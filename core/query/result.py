"""A query result: one object that shows as a table and converts to Arrow, pandas, polars.

Rows stay in the engine's form (SQLite tuples or an Arrow table) until asked for; conversions
(uuid bytes → text, integer ns → datetime, JSON text → values) happen once, on demand.
Times are time-zone-aware datetimes in UTC on every route (Arrow: timestamp[us, tz=UTC]), so
they compare with `datetime.now(timezone.utc)`; tables shown to a person use local time
(display.py, how a result looks).
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any, Iterator

from .columns import ReadOnlyList, read_only
from .display import TableDisplay
from .display import DISPLAY_ROWS, number_text  # noqa: F401  (imported from here before display.py)

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

    import duckdb
    import pyarrow as pa

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
LAZY_ROWS = 100_000   # a mirror result longer than this stays a stream until it is used


def _py(typ: str):
    """Converter from the SQLite representation to the Python value users see."""
    if typ == "uuid":
        return lambda v: None if v is None else str(uuid.UUID(bytes=bytes(v)))
    if typ == "time_ns":
        return lambda v: None if v is None else _EPOCH + dt.timedelta(microseconds=v // 1000)
    if typ == "bool":
        return lambda v: None if v is None else bool(v)
    if typ in ("json", "paths"):        # SQLite builds lists as JSON text
        return lambda v: None if v is None else json.loads(v)
    return None


class Result(TableDisplay):
    """Rows of a query. `len()`, iteration (dicts), `.rows()`, `.arrow()`, `.df()`, `.pl()`;
    shown as a table (TableDisplay)."""

    _table: Any = None
    _tuples: list | None = None
    _uuids_done = True
    _stream: Any = None          # rows not yet fetched: (reader or cursor, its connection)
    _batches: Any = ()           # the record batches read so far while a stream is pending
    #                              (a list of the result's own then; never a shared one)
    _schema: Any = None          # the Arrow schema of a pending stream

    def __init__(self, columns: list[str], types: list[str], *, rows: list | None = None,
                 table: pa.Table | None = None, route: str = "", sql: str = "", params: list | None = None):
        self.columns = ReadOnlyList(columns)
        self.types = ReadOnlyList(types)
        self.route = route
        self.sql = sql
        self.params = params or []
        self._raw = rows            # SQLite tuples (raw storage values)
        self._table = table         # pyarrow.Table from DuckDB (uuids still 16-byte binary)
        self._tuples: list | None = None
        self._uuids_done = table is None or "uuid" not in self.types

    @classmethod
    def of_rows(cls, columns: list[str], types: list[str], rows: list, sql: str,
                params: list) -> "Result":
        """SQLite rows, built with no more work than a repeated point lookup needs (the same
        object `Result(columns, types, rows=rows, route="sqlite", ...)` makes)."""
        return lookup_result(read_only(columns), read_only(types), rows, sql, params)

    @classmethod
    def streamed(cls, columns: list[str], types: list[str], reader: pa.RecordBatchReader,
                 cursor: duckdb.DuckDBPyConnection, *,
                 route: str, sql: str, params: list) -> "Result":
        """A DuckDB answer read from `reader` (on its own `cursor`, so its snapshot outlives
        later queries): complete when it has at most LAZY_ROWS rows, else the rest stays in the
        stream until the result is used — showing its head reads only that."""
        r = cls(columns, types, route=route, sql=sql, params=params)
        r._uuids_done = "uuid" not in r.types
        batches, n = [], 0
        for batch in iter(lambda: _next_batch(reader), None):
            batches.append(batch)
            n += batch.num_rows
            if n > LAZY_ROWS:
                r._batches, r._stream, r._schema = batches, (reader, cursor), reader.schema
                return r
        r._table = _table_of(batches, reader.schema)
        cursor.close()
        return r

    @classmethod
    def streamed_rows(cls, columns: list[str], types: list[str], cursor: sqlite3.Cursor,
                      conn: sqlite3.Connection, *, sql: str, params: list) -> "Result":
        """A SQLite answer read from `cursor` on a connection of its own (`conn`, its read
        snapshot): complete when it has at most LAZY_ROWS rows, else pending like `streamed`."""
        rows = cursor.fetchmany(LAZY_ROWS + 1)
        r = cls(columns, types, rows=rows, route="sqlite", sql=sql, params=params)
        if len(rows) > LAZY_ROWS:
            r._stream = (cursor, conn)
        else:
            conn.close()
        return r

    def _fetch_rest(self) -> None:
        """Read what a pending stream still holds (one snapshot: the one it was asked in)."""
        reader, cursor = self._stream
        if reader is None:
            from vdfs_query.errors import QueryError
            raise QueryError("the library was closed before the rest of this result was "
                             f"fetched (it had read {self.fetched_rows():,} rows): run the "
                             "query again")
        try:
            if self._raw is not None:                  # SQLite rows
                self._raw.extend(reader.fetchall())
            else:
                self._batches.extend(iter(lambda: _next_batch(reader), None))
        except (KeyboardInterrupt, Exception) as exc:   # the database's: the user's own type
            from .failures import failure_of
            failure = failure_of(exc, None)
            if failure is None:
                raise
            raise failure from None
        if self._raw is None:
            self._table = _table_of(self._batches, self._schema)
        self._stream, self._batches = None, ()
        cursor.close()

    def detach(self) -> None:
        """Let go of a pending stream (its library is closing: the cursor would keep the
        mirror's file locked); the rows read so far stay, using the rest raises QueryError."""
        if self._stream is not None and self._stream[1] is not None:
            self._stream[1].close()
            self._stream = (None, None)

    def known_len(self) -> int | None:
        """The row count, or None while rows are still in the stream (len() fetches them)."""
        return None if self._stream is not None else len(self)

    def fetched_rows(self) -> int:
        """Rows read from the engine so far."""
        if self._raw is not None:
            return len(self._raw)
        if self._stream is not None:
            return sum(b.num_rows for b in self._batches)
        return len(self)

    # ---- size and access ------------------------------------------------------------------
    def __len__(self) -> int:
        if self._stream is not None:
            self._fetch_rest()
        if self._raw is not None:
            return len(self._raw)
        return self._table.num_rows

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows())

    def __getitem__(self, i: int) -> dict:
        return dict(zip(self.columns, self.tuples()[i]))

    def tuples(self) -> list[tuple]:
        if self._tuples is None:
            if self._stream is not None:
                self._fetch_rest()
            if self._raw is not None:
                self._tuples = self._converted(self._raw)
            else:
                self._tuples = self._arrow_tuples(self.arrow())
        return self._tuples

    def head(self, n: int) -> list[tuple]:
        """The first `n` rows as tuples() gives them, converting only those: showing a page of
        a 10-million-row result must not turn every row into Python values first."""
        if self._tuples is not None:
            return self._tuples[:n]
        if self._stream is not None and self.fetched_rows() < n:
            self._fetch_rest()
        if self._raw is not None:
            return self._converted(self._raw[:n])
        if self._stream is not None:
            part = _table_of(self._batches, self._schema).slice(0, max(0, n))
        else:
            part = self._table.slice(0, max(0, n))
        if not self._uuids_done:
            part = _format_uuids(part, self.types)
        return self._arrow_tuples(_utc_times(part, self.types))

    def _converted(self, raw: list) -> list[tuple]:
        """SQLite rows as the Python values users see."""
        convs = [(_py(t)) for t in self.types]
        if not any(convs):
            return [tuple(r) for r in raw]
        idx = [(i, c) for i, c in enumerate(convs) if c]
        out = []
        for row in raw:
            row = list(row)
            for i, c in idx:
                row[i] = c(row[i])
            out.append(tuple(row))
        return out

    def _arrow_tuples(self, table: Any) -> list[tuple]:
        """Rows of an Arrow table whose uuids are text and times UTC, as Python values."""
        cols = []
        for typ, col in zip(self.types, table.columns):
            values = col.to_pylist()
            if typ == "json":
                values = [None if v is None else json.loads(v) for v in values]
            elif typ == "time_ns":     # one tzinfo object on every route
                values = [None if v is None else v.replace(tzinfo=_UTC) for v in values]
            cols.append(values)
        return list(zip(*cols)) if cols else []

    def rows(self) -> list[dict]:
        """Every row as a dict of column → Python value (uuids as text, times as datetime)."""
        cols = self.columns
        return [dict(zip(cols, t)) for t in self.tuples()]

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [t[i] for t in self.tuples()]

    def scalar(self) -> Any:
        """The single value of a one-row, one-column result (e.g. a count)."""
        t = self.tuples()
        return t[0][0] if t else None

    # ---- conversions ----------------------------------------------------------------------
    def arrow(self):
        """A pyarrow.Table (JSON model fields stay JSON text)."""
        if self._stream is not None:
            self._fetch_rest()
        if self._table is not None:
            if not self._uuids_done:
                self._table = _format_uuids(self._table, self.types)
                self._uuids_done = True
            self._table = _utc_times(self._table, self.types)
            return self._table
        import pyarrow as pa
        arrays = []
        tuples = self.tuples()
        for i, typ in enumerate(self.types):
            values = [t[i] for t in tuples]
            if typ == "json":
                values = [None if v is None else json.dumps(v) for v in values]
                arrays.append(pa.array(values, type=pa.string()))
            elif typ == "time_ns":
                arrays.append(pa.array(values, type=pa.timestamp("us", tz="UTC")))
            elif typ == "paths":
                arrays.append(pa.array(values, type=pa.list_(pa.string())))
            elif typ in ("uuid", "text", "time_iso"):
                arrays.append(pa.array(values, type=pa.string()))
            elif typ == "bool":
                arrays.append(pa.array(values, type=pa.bool_()))
            elif typ in ("int", "size"):
                arrays.append(pa.array(values, type=pa.int64()))
            elif typ == "float":
                arrays.append(pa.array(values, type=pa.float64()))
            else:
                arrays.append(pa.array(values))
        return pa.table(arrays, names=self.columns) if arrays else pa.table({})

    def df(self):
        """A pandas DataFrame (needs pandas)."""
        return self.arrow().to_pandas()

    def pl(self):
        """A polars DataFrame (needs polars)."""
        import polars
        return polars.from_arrow(self.arrow())

def _next_batch(reader: Any) -> Any:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _table_of(batches: list, schema: Any) -> Any:
    import pyarrow as pa
    return pa.Table.from_batches(batches, schema=schema)


def _utc_times(table: Any, types: list[str]) -> Any:
    """DuckDB hands back naive timestamps (UTC by construction): label them UTC."""
    import pyarrow as pa
    for i, typ in enumerate(types):
        col = table.column(i)
        if typ == "time_ns" and pa.types.is_timestamp(col.type) and col.type.tz is None:
            table = table.set_column(i, table.schema.field(i).name,
                                     col.cast(pa.timestamp(col.type.unit, tz="UTC")))
    return table


def _format_uuids(table: Any, types: list[str]) -> Any:
    """Replace 16-byte binary uuid columns by their text form, vectorised with numpy."""
    import numpy as np
    import pyarrow as pa
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    for i, typ in enumerate(types):
        if typ != "uuid":
            continue
        col = table.column(i).combine_chunks()
        if pa.types.is_string(col.type):
            continue
        n = len(col)
        valid = col.is_valid().to_numpy(zero_copy_only=False) if col.null_count else None
        filled = col.fill_null(b"\0" * 16) if col.null_count else col
        flat = b"".join(filled.to_pylist()) if n < 64 else _binary_bytes(filled)
        raw = np.frombuffer(flat, dtype=np.uint8).reshape(n, 16) if n else np.zeros((0, 16), np.uint8)
        hexed = np.empty((n, 32), dtype=np.uint8)
        hexed[:, 0::2] = hexdigits[raw >> 4]
        hexed[:, 1::2] = hexdigits[raw & 15]
        out = np.full((n, 36), ord("-"), dtype=np.uint8)
        for a, b, c in ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)):
            out[:, a:b] = hexed[:, c:c + (b - a)]
        fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(36), n, [None, pa.py_buffer(out.tobytes())])
        arr = fixed.cast(pa.binary()).cast(pa.string())
        if valid is not None:
            import pyarrow.compute as pc
            arr = pc.if_else(pa.array(valid), arr, pa.scalar(None, pa.string()))
        table = table.set_column(i, table.schema.field(i).name, arr)
    return table


def _binary_bytes(col: Any) -> bytes:
    """The concatenated values of a binary array whose values are all 16 bytes."""
    import numpy as np
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + len(col) + 1]
    data = col.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != 16 * len(col):
        raise ValueError("a uuid column holds a value that is not 16 bytes")
    return data.to_pybytes()[start:end]


def lookup_result(columns: ReadOnlyList, types: ReadOnlyList, rows: list, sql: str,
                  params: list) -> Result:
    """`Result.of_rows` for names that are read-only already (a point plan's, shared by all its
    answers): a plain function, since a repeated lookup pays for every call on its path."""
    r = _new(Result)              # _table, _tuples and _uuids_done: the class defaults
    r.columns = columns
    r.types = types
    r.route = "sqlite"
    r.sql = sql
    r.params = params
    r._raw = rows
    return r


_new = object.__new__
