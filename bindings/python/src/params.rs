//! Query parameters from Python values: each becomes a typed value that replaces its `$n`
//! placeholder in the plan, never SQL text.

use lienthong::datafusion::scalar::ScalarValue;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

/// Days from 0001-01-01 (Python's ordinal 1) to 1970-01-01.
const UNIX_EPOCH_ORDINAL: i64 = 719_163;

/// `None`, `bool`, `int`, `float`, `str`, `bytes`, `datetime.date` and `datetime.datetime`
/// (naive, or aware and then taken as UTC) as typed values.
pub(crate) fn to_scalars(values: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<ScalarValue>> {
    let Some(values) = values else {
        return Ok(Vec::new());
    };
    if values.is_instance_of::<PyString>() || values.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "params must be a sequence of values, not a single string",
        ));
    }
    values
        .try_iter()?
        .enumerate()
        .map(|(i, v)| to_scalar(&v?, i + 1))
        .collect()
}

fn to_scalar(value: &Bound<'_, PyAny>, position: usize) -> PyResult<ScalarValue> {
    if value.is_none() {
        return Ok(ScalarValue::Null);
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(ScalarValue::Boolean(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(ScalarValue::Int64(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(ScalarValue::Float64(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(ScalarValue::Utf8(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyBytes>() {
        return Ok(ScalarValue::Binary(Some(value.extract()?)));
    }
    let datetime = value.py().import("datetime")?;
    if value.is_instance(&datetime.getattr("datetime")?)? {
        return timestamp(value);
    }
    if value.is_instance(&datetime.getattr("date")?)? {
        let days = value.call_method0("toordinal")?.extract::<i64>()? - UNIX_EPOCH_ORDINAL;
        return Ok(ScalarValue::Date32(Some(
            i32::try_from(days).map_err(|_| out_of_range(position))?,
        )));
    }
    Err(PyTypeError::new_err(format!(
        "parameter ${position}: {} is not a supported parameter type (None, bool, int, float, str, bytes, date, datetime)",
        value.get_type().name()?
    )))
}

/// Microseconds since the epoch; an aware datetime is converted to UTC first.
fn timestamp(value: &Bound<'_, PyAny>) -> PyResult<ScalarValue> {
    let aware = !value.call_method0("utcoffset")?.is_none();
    let utc = if aware {
        let timezone = value.py().import("datetime")?.getattr("timezone")?.getattr("utc")?;
        value.call_method1("astimezone", (timezone,))?
    } else {
        value.clone()
    };
    let field = |name: &str| -> PyResult<i64> { utc.getattr(name)?.extract() };
    let days = utc.call_method0("toordinal")?.extract::<i64>()? - UNIX_EPOCH_ORDINAL;
    let seconds = ((days * 24 + field("hour")?) * 60 + field("minute")?) * 60 + field("second")?;
    let micros = seconds * 1_000_000 + field("microsecond")?;
    Ok(ScalarValue::TimestampMicrosecond(
        Some(micros),
        aware.then(|| "UTC".into()),
    ))
}

fn out_of_range(position: usize) -> PyErr {
    PyTypeError::new_err(format!("parameter ${position}: the date is out of range"))
}
