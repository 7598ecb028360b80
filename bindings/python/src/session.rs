//! `lienthong.Session`: a principal acting for a purpose on a local catalog — run SQL, list and
//! describe the tables it may see, explain a plan.

use std::sync::Arc;

use lienthong::policy::Rows;
use lienthong::{Catalog, Session};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::error::{QueryError, to_py};
use crate::params::to_scalars;
use crate::result::PyQueryResult;
use crate::runtime::wait;

/// A session of this process.
#[pyclass(name = "Session", module = "lienthong._internal", frozen)]
pub(crate) struct PySession {
    catalog: Catalog,
    session: Arc<Session>,
}

impl PySession {
    pub(crate) fn new(catalog: Catalog, session: Arc<Session>) -> Self {
        Self { catalog, session }
    }
}

#[pymethods]
impl PySession {
    /// The principal's id.
    #[getter]
    fn principal(&self) -> String {
        self.session.principal().to_owned()
    }

    /// The declared purpose (`None` for `public`).
    #[getter]
    fn purpose(&self) -> Option<String> {
        self.session.purpose().map(str::to_owned)
    }

    /// Plans, governs and audits a read-only query, and returns its results unread.
    #[pyo3(signature = (query, params = None))]
    fn sql(&self, py: Python<'_>, query: String, params: Option<Bound<'_, PyAny>>) -> PyResult<PyQueryResult> {
        let params = to_scalars(params.as_ref())?;
        let session = Arc::clone(&self.session);
        let started = wait(py, async move { session.query(&query, &params).await })?;
        started.map(PyQueryResult::local).map_err(|e| to_py(py, e))
    }

    /// The tables this caller may see, as `database.table`.
    fn tables(&self) -> Vec<String> {
        self.session.tables()
    }

    /// What this caller may see of `table`: its columns (types as delivered, descriptions, tags,
    /// masks), classification, and whether rows are filtered or only aggregates are allowed.
    fn describe<'py>(&self, py: Python<'py>, table: String) -> PyResult<Bound<'py, PyDict>> {
        let session = Arc::clone(&self.session);
        let name = table.clone();
        let schema = wait(py, async move { session.table_schema(&name).await })?.map_err(|e| to_py(py, e))?;
        let not_found = || QueryError::new_err(format!("query failed: table '{table}' not found"));
        let access = self.session.access(&table).ok_or_else(not_found)?;
        let (database, name) = table.split_once('.').ok_or_else(not_found)?;
        let declared = self
            .catalog
            .spec()
            .databases
            .get(database)
            .and_then(|d| d.tables.get(name))
            .ok_or_else(not_found)?;
        let columns = PyList::empty(py);
        for column in &access.columns {
            let spec = declared.columns.iter().find(|c| c.name == column.name);
            let item = PyDict::new(py);
            item.set_item("name", &column.name)?;
            let data_type = schema.field_with_name(&column.name).map(|f| f.data_type().to_string());
            item.set_item("type", data_type.ok())?;
            item.set_item("description", spec.and_then(|c| c.description.as_ref()).map(|t| &t.en))?;
            item.set_item(
                "description_vi",
                spec.and_then(|c| c.description.as_ref()).map(|t| &t.vi),
            )?;
            item.set_item("tags", spec.map(|c| c.tags.clone()).unwrap_or_default())?;
            item.set_item("primary_key", spec.is_some_and(|c| c.primary_key))?;
            item.set_item("mask", column.mask_name())?;
            columns.append(item)?;
        }
        let described = PyDict::new(py);
        described.set_item("name", &table)?;
        described.set_item("description", &declared.description.en)?;
        described.set_item("description_vi", &declared.description.vi)?;
        described.set_item(
            "classification",
            format!("{:?}", declared.classification).to_lowercase(),
        )?;
        described.set_item("rows_filtered", !matches!(access.rows, Rows::All))?;
        described.set_item("min_group_size", access.min_group_size)?;
        described.set_item("min_max", access.min_max.clone())?;
        described.set_item("grants", access.grants.clone())?;
        described.set_item("columns", columns)?;
        Ok(described)
    }

    /// The caller's volume quotas, as a JSON array (one object per limit).
    fn quotas(&self, py: Python<'_>) -> PyResult<String> {
        let quotas = self.session.quotas().map_err(|e| to_py(py, e))?;
        serde_json::to_string(&quotas).map_err(|e| QueryError::new_err(e.to_string()))
    }

    /// The governed plan of `query` (logical and physical), as text; the query is not run.
    fn explain(&self, py: Python<'_>, query: String) -> PyResult<String> {
        let session = Arc::clone(&self.session);
        wait(py, async move { session.explain(&query).await })?.map_err(|e| to_py(py, e))
    }

    fn __repr__(&self) -> String {
        match self.session.purpose() {
            Some(purpose) => format!("Session(principal={:?}, purpose={purpose:?})", self.session.principal()),
            None => format!("Session(principal={:?})", self.session.principal()),
        }
    }
}
