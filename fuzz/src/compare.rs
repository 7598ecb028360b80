//! Comparing the two answers: rows as a multiset of text lines (floats to nine significant
//! digits: the engines may add in another order), and error texts searched for values that only
//! the raw data holds.

use std::collections::HashSet;

use anyhow::Result;
use lienthong::datafusion::arrow::array::{Array, RecordBatch};
use lienthong::datafusion::arrow::compute::cast;
use lienthong::datafusion::arrow::datatypes::DataType;
use lienthong::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use lienthong::datafusion::common::cast::as_float64_array;

/// The rows of `batches` as sorted text lines, columns joined by ` | `.
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut lines = Vec::new();
    for batch in batches {
        let mut columns: Vec<Vec<String>> = Vec::with_capacity(batch.num_columns());
        for array in batch.columns() {
            columns.push(column(array.as_ref(), &options)?);
        }
        for row in 0..batch.num_rows() {
            let cells: Vec<&str> = columns.iter().map(|c| c[row].as_str()).collect();
            lines.push(cells.join(" | "));
        }
    }
    lines.sort();
    Ok(lines)
}

fn column(array: &dyn Array, options: &FormatOptions<'_>) -> Result<Vec<String>> {
    if matches!(
        array.data_type(),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    ) {
        let floats = cast(array, &DataType::Float64)?;
        let floats = as_float64_array(&floats)?;
        return Ok(floats
            .iter()
            .map(|v| match v {
                None => "NULL".to_owned(),
                Some(0.0) => "0".to_owned(),
                Some(v) if v.is_finite() => format!("{v:.8e}"),
                Some(v) => v.to_string(),
            })
            .collect());
    }
    let formatter = ArrayFormatter::try_new(array, options)?;
    Ok((0..array.len()).map(|i| formatter.value(i).to_string()).collect())
}

/// Every value of every column of `batches`, as text.
pub fn values(batches: &[RecordBatch], into: &mut HashSet<String>) -> Result<()> {
    let options = FormatOptions::default().with_null("NULL");
    for batch in batches {
        for array in batch.columns() {
            into.extend(column(array.as_ref(), &options)?);
        }
    }
    Ok(())
}

/// The first value of `secrets` that `error` shows as a whole word and that neither `sql` nor
/// `copy_error` (the copy's own error for the same query, if any) contains. Values shorter than
/// six characters are not looked for (codes such as `01` or `M` are everywhere).
pub fn revealed<'a>(error: &str, sql: &str, copy_error: &str, secrets: &'a HashSet<String>) -> Option<&'a str> {
    secrets
        .iter()
        .filter(|v| v.chars().count() >= 6)
        .find(|v| word_in(error, v) && !sql.contains(v.as_str()) && !copy_error.contains(v.as_str()))
        .map(String::as_str)
}

fn word_in(text: &str, word: &str) -> bool {
    let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word)
        .any(|(at, _)| boundary(text[..at].chars().next_back()) && boundary(text[at + word.len()..].chars().next()))
}
