//! `lienthong.Catalog`: a catalog file opened with its sources, audit log, pseudonym secret and
//! limits, and the sessions opened on it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, Limits, OpenOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use lienthong::spec::PUBLIC_PRINCIPAL;

use crate::error::to_py;
use crate::session::PySession;

/// An opened catalog.
#[pyclass(name = "Catalog", module = "lienthong._internal", frozen)]
pub(crate) struct PyCatalog {
    catalog: Catalog,
}

#[pymethods]
impl PyCatalog {
    /// Reads and validates the catalog file; sources are not touched until a query needs them.
    #[staticmethod]
    #[pyo3(signature = (path, *, audit_path = None, pseudonym_key = None, max_rows = None, timeout_seconds = None, memory_bytes = None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        audit_path: Option<PathBuf>,
        pseudonym_key: Option<Vec<u8>>,
        max_rows: Option<u64>,
        timeout_seconds: Option<f64>,
        memory_bytes: Option<usize>,
    ) -> PyResult<Self> {
        let pseudonym_secret = pseudonym_key
            .map(PseudonymSecret::new)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("pseudonym_key: {e}")))?;
        let timeout = timeout_seconds
            .map(Duration::try_from_secs_f64)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("timeout_seconds: {e}")))?;
        let options = OpenOptions {
            audit_path,
            pseudonym_secret,
            limits: Limits {
                max_rows,
                timeout,
                memory_bytes,
            },
            ..OpenOptions::default()
        };
        let opened = py.detach(move || Catalog::open_with(&path, options));
        opened.map(|catalog| Self { catalog }).map_err(|e| to_py(py, e))
    }

    /// Opens a session as `principal` for `purpose`, proven by `credential`; with no principal,
    /// the anonymous `public` principal (open tables only).
    #[pyo3(signature = (principal = None, purpose = None, credential = None))]
    fn session(
        &self,
        py: Python<'_>,
        principal: Option<String>,
        purpose: Option<String>,
        credential: Option<String>,
    ) -> PyResult<PySession> {
        let principal = principal.unwrap_or_else(|| PUBLIC_PRINCIPAL.to_owned());
        let catalog = self.catalog.clone();
        let opened = py.detach(move || match credential {
            None if principal == PUBLIC_PRINCIPAL => catalog.session(&principal, purpose.as_deref()),
            // A missing credential is checked like a wrong one (the same work, the same refusal,
            // audited), and so is a credential offered for `public`, which takes none.
            credential => catalog.session_with_secret(&principal, &credential.unwrap_or_default(), purpose.as_deref()),
        });
        opened
            .map(|session| PySession::new(self.catalog.clone(), Arc::new(session)))
            .map_err(|e| to_py(py, e))
    }

    /// The catalog file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.catalog.path().to_owned()
    }

    /// The audit log file.
    #[getter]
    fn audit_path(&self) -> PathBuf {
        self.catalog.audit_path().to_owned()
    }

    /// The node's name.
    #[getter]
    fn node(&self) -> String {
        self.catalog.spec().node.name.clone()
    }

    /// The digest under which the audit log records `value` when a query names it.
    fn literal_digest(&self, value: &str) -> String {
        self.catalog.literal_digest(value)
    }

    /// Forgets cached source tables and schemas.
    fn refresh(&self) {
        self.catalog.refresh();
    }

    fn __repr__(&self) -> String {
        format!("Catalog({:?})", self.catalog.path().display().to_string())
    }
}
