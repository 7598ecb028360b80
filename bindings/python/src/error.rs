//! The exception classes of the package and the one place Rust errors become them.
//!
//! `LienthongError` is the base of everything the package raises for its own reasons:
//! `PolicyDenied` (the caller may not do this; the message never says what exists),
//! `CatalogError` (with the file, line, column and field of the first problem, and every problem
//! in `problems`), `QueryError` (bad SQL, or a name the caller cannot see) with its subclass
//! `LimitExceeded` (rows, time, memory; `QuotaExceeded` for the catalog's volume quotas),
//! `SourceError` (a source the query needs failed; no
//! partial result is returned) and `AuditError` (the audit log could not be written, so nothing
//! was released).

use lienthong::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    lienthong,
    LienthongError,
    PyException,
    "Base class of every lienthong error."
);
create_exception!(
    lienthong,
    PolicyDenied,
    LienthongError,
    "The policy refuses this caller this request."
);
create_exception!(
    lienthong,
    CatalogError,
    LienthongError,
    "The catalog could not be read or is invalid."
);
create_exception!(lienthong, QueryError, LienthongError, "The query is invalid or failed.");
create_exception!(
    lienthong,
    LimitExceeded,
    QueryError,
    "A per-query limit (rows, time, memory) was reached."
);
create_exception!(
    lienthong,
    QuotaExceeded,
    LimitExceeded,
    "A volume quota of the catalog (rows or keys per query, day or month) is used up."
);
create_exception!(
    lienthong,
    SourceError,
    LienthongError,
    "A source the query needs is unavailable."
);
create_exception!(
    lienthong,
    AuditError,
    LienthongError,
    "The audit log could not be written."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LienthongError", py.get_type::<LienthongError>())?;
    m.add("PolicyDenied", py.get_type::<PolicyDenied>())?;
    m.add("CatalogError", py.get_type::<CatalogError>())?;
    m.add("QueryError", py.get_type::<QueryError>())?;
    m.add("LimitExceeded", py.get_type::<LimitExceeded>())?;
    m.add("QuotaExceeded", py.get_type::<QuotaExceeded>())?;
    m.add("SourceError", py.get_type::<SourceError>())?;
    m.add("AuditError", py.get_type::<AuditError>())?;
    Ok(())
}

/// The Python exception for a core error, with the core's message.
pub(crate) fn to_py(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Denied(_) => PolicyDenied::new_err(message),
        Error::Query(_) => QueryError::new_err(message),
        Error::Limit(_) => LimitExceeded::new_err(message),
        Error::Quota(_) => QuotaExceeded::new_err(message),
        Error::Audit { .. } => AuditError::new_err(message),
        Error::Internal(_) => LienthongError::new_err(message),
        Error::Source { source_name, .. } => with_attributes(py, SourceError::new_err(message), |attrs| {
            attrs.set_item("source_name", source_name)
        }),
        Error::Catalog(catalog) => with_attributes(py, CatalogError::new_err(message), |attrs| {
            let problems = catalog
                .diagnostics()
                .map(|d| d.iter().collect::<Vec<_>>())
                .unwrap_or_default();
            let first = problems.first();
            attrs.set_item(
                "path",
                match (&catalog, first) {
                    (_, Some(problem)) => Some(problem.file.display().to_string()),
                    (lienthong::spec::Error::Io { path, .. }, None) => Some(path.display().to_string()),
                    _ => None,
                },
            )?;
            attrs.set_item("line", first.map(|p| p.line))?;
            attrs.set_item("column", first.map(|p| p.column))?;
            attrs.set_item("field", first.map(|p| p.path.to_string()))?;
            let list = problems
                .iter()
                .map(|p| {
                    let item = PyDict::new(py);
                    item.set_item("path", p.file.display().to_string())?;
                    item.set_item("line", p.line)?;
                    item.set_item("column", p.column)?;
                    item.set_item("field", p.path.to_string())?;
                    item.set_item("kind", p.kind.label())?;
                    item.set_item("message", &p.message)?;
                    Ok(item)
                })
                .collect::<PyResult<Vec<_>>>()?;
            attrs.set_item("problems", list)
        }),
    }
}

/// Sets attributes on the exception `error` holds; if that fails, the exception goes as it is.
fn with_attributes(py: Python<'_>, error: PyErr, set: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>) -> PyErr {
    let attrs = PyDict::new(py);
    if set(&attrs).is_ok() {
        let value = error.value(py);
        for (key, item) in attrs.iter() {
            if let Ok(key) = key.extract::<String>() {
                let _ = value.setattr(key.as_str(), item);
            }
        }
    }
    error
}
