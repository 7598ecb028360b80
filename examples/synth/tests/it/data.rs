//! One generated directory shared by the tests of this binary, and readers for its files.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Date32Type, Float64Type, Int32Type};
use lienthong_synth::{Config, NoProgress, generate};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Citizens in the shared data set: more than one row group of citizens.
pub const CITIZENS: u64 = 70_000;

/// The shared data set, generated once per test binary.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("data");
        generate(
            &Config {
                out: path.clone(),
                citizens: CITIZENS,
                seed: 7,
            },
            &NoProgress,
        )
        .unwrap();
        (tmp, path)
    });
    path
}

/// All rows of a Parquet file as one batch.
pub fn parquet(relative: &str) -> RecordBatch {
    let file = File::open(dir().join(relative)).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let reader = builder.build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    concat_batches(&schema, &batches).unwrap()
}

/// A string column, nulls as `None`.
pub fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let array = array.as_string::<i32>();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i).to_owned()))
        .collect()
}

/// A string column without nulls.
pub fn required(batch: &RecordBatch, column: &str) -> Vec<String> {
    strings(batch, column)
        .into_iter()
        .map(|v| v.unwrap_or_else(|| panic!("null in {column}")))
        .collect()
}

/// A date column as days since the epoch.
pub fn dates(batch: &RecordBatch, column: &str) -> Vec<Option<i32>> {
    let array = batch.column_by_name(column).unwrap().as_primitive::<Date32Type>();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i)))
        .collect()
}

/// An int32 column.
pub fn ints(batch: &RecordBatch, column: &str) -> Vec<i32> {
    batch
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Int32Type>()
        .values()
        .to_vec()
}

/// A float64 column.
pub fn floats(batch: &RecordBatch, column: &str) -> Vec<f64> {
    batch
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

/// The SQLite file, read-only.
pub fn sqlite() -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir().join("registries.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// Rows of a query whose columns are all text (or null).
pub fn query(sql: &str) -> Vec<Vec<Option<String>>> {
    let db = sqlite();
    let mut statement = db.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| row.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Ward code → 2025 province code, from the generated reference table.
pub fn ward_provinces() -> HashMap<String, String> {
    let wards = parquet("reference/wards.parquet");
    required(&wards, "ward_code")
        .into_iter()
        .zip(required(&wards, "province_code"))
        .collect()
}

/// Days since the epoch of an ISO date.
pub fn day(iso: &str) -> i32 {
    let date = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap_or_else(|_| panic!("not a date: {iso}"));
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

/// The day the data describes.
pub fn as_of() -> i32 {
    day("2026-07-01")
}

/// Whole years between two days.
pub fn years(from: i32, to: i32) -> i32 {
    use chrono::Datelike;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let (a, b) = (
        epoch + chrono::TimeDelta::days(i64::from(from)),
        epoch + chrono::TimeDelta::days(i64::from(to)),
    );
    let mut years = b.year() - a.year();
    if (b.month(), b.day()) < (a.month(), a.day()) {
        years -= 1;
    }
    years
}
