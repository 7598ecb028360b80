//! Writing tables as Parquet files that prune well: sorted by their key (the callers' job), small
//! row groups, page-level statistics and page indexes, small dictionaries, Snappy, and a fixed
//! `created_by` so the same data always gives the same bytes.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::{Error, Progress};

/// Rows per row group.
pub(crate) const ROW_GROUP: usize = 64 * 1024;
/// Rows per data page: small pages make point lookups read little.
const PAGE_ROWS: usize = 8 * 1024;
/// Largest dictionary page, in bytes. Codes (wards, provinces, kinds) fit whole; a column of
/// distinct values (IDs, names, phones) falls back to plain pages soon, so that a point lookup
/// does not decompress and decode a dictionary of the whole row group to read one row.
const DICTIONARY_BYTES: usize = 64 * 1024;

/// A column of an output schema: name, type, nullable.
pub(crate) type ColumnSpec = (&'static str, DataType, bool);

/// The Arrow schema of `columns`.
pub(crate) fn schema(columns: &[ColumnSpec]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Vec<_>>(),
    ))
}

/// A record batch of `columns` in schema order.
pub(crate) fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch, Error> {
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::Internal(format!("building a record batch: {e}")))
}

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_dictionary_page_size_limit(DICTIONARY_BYTES)
        .set_write_batch_size(PAGE_ROWS)
        .set_created_by(format!("lienthong-synth {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes `batches` (all of `schema`) to `path`, reporting rows to `progress`.
pub(crate) fn write(
    path: &Path,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = RecordBatch>,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let fail = |e: &dyn std::fmt::Display| Error::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let file = File::create(path).map_err(|e| fail(&e))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties())).map_err(|e| fail(&e))?;
    for batch in batches {
        writer.write(&batch).map_err(|e| fail(&e))?;
        progress.advance(batch.num_rows() as u64);
    }
    writer.close().map_err(|e| fail(&e))?;
    Ok(())
}
