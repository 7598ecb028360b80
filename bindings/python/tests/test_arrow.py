"""Results as Arrow: the PyCapsule stream, zero-copy hand-over to pyarrow, reading once or
keeping the result, and how a result shows itself in a terminal and a notebook."""

from __future__ import annotations

import pyarrow as pa
import pytest

import lienthong

#: Every citizen row ten times over: a result of some size (about 200 000 rows, tens of MB).
LARGE = " UNION ALL ".join(["SELECT * FROM population.citizens"] * 10)


def buffer_addresses(table: pa.Table) -> list[int]:
    return [b.address for column in table.columns for chunk in column.chunks for b in chunk.buffers() if b is not None]


def test_a_large_result_reaches_pyarrow_without_a_copy(open_as):
    result = open_as("population-owner", "data-stewardship").sql(LARGE)
    result._inner.collect()
    pool_before = pa.total_allocated_bytes()
    table = result.to_arrow()
    allocated = pa.total_allocated_bytes() - pool_before
    assert table.num_rows == 10 * open_as("population-owner", "data-stewardship").sql(
        "SELECT count(*) FROM population.citizens"
    ).to_arrow().column(0)[0].as_py()
    assert table.nbytes > 20_000_000
    # The buffers are the engine's: pyarrow's allocator gave out (next to) nothing for them.
    assert allocated < table.nbytes / 1000, (allocated, table.nbytes)
    # The same measure sees a real copy.
    pool_before = pa.total_allocated_bytes()
    copied = table.combine_chunks()
    assert pa.total_allocated_bytes() - pool_before > table.nbytes / 2
    del copied
    # A second export shares the very same buffers.
    again = result.to_arrow()
    assert buffer_addresses(again) == buffer_addresses(table)
    assert again.equals(table)


def test_a_result_streams_once_through_the_capsule(open_as):
    session = open_as("ward-officer", "tthc")
    result = session.sql("SELECT citizen_id, full_name FROM population.citizens ORDER BY citizen_id")
    reader = pa.RecordBatchReader.from_stream(result)
    streamed = reader.read_all()
    assert streamed.num_rows > 0
    assert streamed.schema == result.schema
    with pytest.raises(lienthong.QueryError, match="already streamed"):
        result.to_arrow()
    # Read first, a result can be exported as often as asked.
    kept = session.sql("SELECT citizen_id, full_name FROM population.citizens ORDER BY citizen_id")
    assert kept.to_arrow().to_pylist() == streamed.to_pylist()
    assert pa.table(kept).to_pylist() == streamed.to_pylist()
    assert sum(b.num_rows for b in kept.to_batches()) == streamed.num_rows


def test_polars_and_pandas(open_as):
    result = open_as("statistician", "statistics").sql(
        "SELECT current_province_code AS province, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2 ORDER BY 1, 2"
    )
    frame = result.to_pandas()
    assert list(frame.columns) == ["province", "sex", "people"]
    assert frame["people"].min() >= 10
    polars_frame = result.to_polars()
    assert polars_frame.shape == frame.shape
    assert polars_frame["people"].sum() == frame["people"].sum()


def test_repr_shows_rows_count_and_policies(open_as):
    result = open_as("ward-officer", "tthc").sql("SELECT full_name, phone FROM population.citizens ORDER BY full_name")
    text = repr(result)
    rows = result.num_rows
    assert text.startswith(f"QueryResult ({rows:,} rows; policies: ")
    assert "ward-officer-residents" in text
    assert "full_name: " in text and "phone: " in text
    assert f"… {rows - 10:,} more" in text
    page = result._repr_html_()
    assert "<table>" in page and "ward-officer-residents" in page and "<th>phone" in page
    first = result.to_arrow().slice(0, 1).to_pylist()[0]["full_name"]
    assert first in text
    # A result that cannot be read says why instead of failing the display.
    failed = open_as("population-owner", "data-stewardship").sql("SELECT 1 / 0 AS x FROM population.citizens")
    assert "QueryResult" in repr(failed)


def test_the_schema_is_known_before_the_rows(open_as):
    result = open_as("inspector", "inspection").sql("SELECT personnel_no, citizen_id FROM civil_servants.personnel")
    schema = result.schema
    assert schema.names == ["personnel_no", "citizen_id"]
    assert result._inner.num_rows is None
    assert pa.types.is_string(schema.field("citizen_id").type) or pa.types.is_string_view(schema.field("citizen_id").type)
