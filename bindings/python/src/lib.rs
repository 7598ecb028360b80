//! The extension module `lienthong._internal` under the Python package `lienthong`.
//!
//! The Python layer (`python/lienthong/`) gives the friendly API (docstrings, pandas and polars,
//! notebook display); this module exposes the Rust core and nothing else: a catalog, its sessions,
//! the results of a query as an Arrow C stream, the remote session over Flight SQL, and the
//! exception classes. Every query runs on one shared tokio runtime with the GIL released.

use pyo3::prelude::*;

mod catalog;
mod error;
mod params;
mod remote;
mod result;
mod runtime;
mod session;

/// The extension module: one registration per exposed type.
#[pymodule]
fn _internal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<catalog::PyCatalog>()?;
    m.add_class::<session::PySession>()?;
    m.add_class::<result::PyQueryResult>()?;
    m.add_class::<remote::PyRemoteSession>()?;
    m.add_function(wrap_pyfunction!(remote::connect, m)?)?;
    m.add_function(wrap_pyfunction!(result::drain, m)?)?;
    error::register(m)
}
