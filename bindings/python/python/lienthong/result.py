"""The results of a query: an Arrow stream that becomes a ``pyarrow.Table``, pandas or polars."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lienthong import _internal

if TYPE_CHECKING:
    import pandas
    import polars

#: Rows shown by ``repr()`` and in notebooks.
PREVIEW_ROWS = 10


class QueryResult:
    """The results of one governed query.

    The query has been planned, governed and audited; its rows are read on first use. The
    object is an Arrow stream (``__arrow_c_stream__``): any consumer of the Arrow PyCapsule
    interface (pyarrow, polars, DuckDB, …) reads the record batches without a copy. Streaming it
    before anything else reads the rows once, as they come; any other use (:meth:`to_arrow`,
    :meth:`to_pandas`, ``repr``…) reads the whole result first, with Ctrl-C cancelling the query,
    and keeps it, so it can be exported again.

    >>> result = session.sql("SELECT province_code FROM reference.provinces")  # doctest: +SKIP
    >>> result.to_arrow().num_rows  # doctest: +SKIP
    34
    """

    def __init__(self, inner: _internal.QueryResult):
        self._inner = inner

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow C stream of the results (the PyCapsule interface)."""
        return self._inner.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> Any:
        """The Arrow C schema of the results."""
        return self._inner.__arrow_c_schema__()

    @property
    def schema(self) -> pa.Schema:
        """The columns and types of the results, as the caller sees them (masked columns included)."""
        return pa.schema(self._inner)

    @property
    def policies(self) -> list[str]:
        """Ids of the catalog's grants and tag rules that governed the query (empty for a remote query)."""
        return self._inner.policies

    @property
    def tables(self) -> list[str]:
        """The tables the query read, as ``database.table`` (empty for a remote query)."""
        return self._inner.tables

    @property
    def query_id(self) -> str | None:
        """The query's id in the audit log (``None`` for a remote query)."""
        return self._inner.query_id

    @property
    def num_rows(self) -> int:
        """The number of rows (reads the result if it has not been read)."""
        self._inner.collect()
        rows = self._inner.num_rows
        assert rows is not None
        return rows

    def __len__(self) -> int:
        return self.num_rows

    def to_arrow(self) -> pa.Table:
        """The whole result as a ``pyarrow.Table``; its buffers are the engine's, not copies."""
        self._inner.collect()
        return pa.table(self._inner)

    def to_batches(self) -> list[pa.RecordBatch]:
        """The whole result as ``pyarrow.RecordBatch`` objects, in order."""
        self._inner.collect()
        return list(pa.RecordBatchReader.from_stream(self._inner))

    def to_pandas(self, **kwargs: Any) -> pandas.DataFrame:
        """The whole result as a ``pandas.DataFrame`` (``kwargs`` go to ``pyarrow.Table.to_pandas``)."""
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self) -> polars.DataFrame:
        """The whole result as a ``polars.DataFrame``."""
        import polars

        frame = polars.from_arrow(self.to_arrow())
        assert isinstance(frame, polars.DataFrame)
        return frame

    def _preview(self) -> tuple[pa.Table, int]:
        table = self.to_arrow()
        return table.slice(0, PREVIEW_ROWS), table.num_rows

    def _caption(self, rows: int) -> str:
        caption = f"{rows:,} row{'s' if rows != 1 else ''}"
        if self.policies:
            caption += "; policies: " + ", ".join(self.policies)
        return caption

    def __repr__(self) -> str:
        try:
            preview, rows = self._preview()
        except _internal.LienthongError as error:
            return f"<QueryResult: {error}>"
        lines = [f"QueryResult ({self._caption(rows)})"]
        lines.append(" | ".join(f"{field.name}: {field.type}" for field in preview.schema))
        lines.extend(_rows_as_text(preview))
        if rows > preview.num_rows:
            lines.append(f"… {rows - preview.num_rows:,} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        try:
            preview, rows = self._preview()
        except _internal.LienthongError as error:
            return f"<p><b>QueryResult</b>: {html.escape(str(error))}</p>"
        head = "".join(f"<th>{html.escape(f.name)}<br><small>{html.escape(str(f.type))}</small></th>" for f in preview.schema)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row.values()) + "</tr>"
            for row in preview.to_pylist()
        )
        more = f"<p>… {rows - preview.num_rows:,} more</p>" if rows > preview.num_rows else ""
        return (
            f"<div><p><b>QueryResult</b>: {html.escape(self._caption(rows))}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
        )


def _cell(value: Any) -> str:
    return "null" if value is None else str(value)


def _rows_as_text(table: pa.Table) -> list[str]:
    return [" | ".join(_cell(v) for v in row.values()) for row in table.to_pylist()]
