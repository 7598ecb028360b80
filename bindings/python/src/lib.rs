//! The extension module `lienthong._internal` under the Python package `lienthong`.
//!
//! The Python layer (`python/lienthong/`) gives the friendly API; this module only exposes the Rust
//! core. For now it reports the version; sessions and queries arrive with the Python issue.

use pyo3::prelude::*;

/// The extension module: one registration per exposed type.
#[pymodule]
fn _internal(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
