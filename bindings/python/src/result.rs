//! The results of one query, as Python sees them: an Arrow C stream (`__arrow_c_stream__`, the
//! PyCapsule interface) that hands the record batches over without copying a buffer, or the whole
//! result read first (with Ctrl-C honoured) and then exported the same way, as often as asked.

use std::sync::{Arc, Mutex};

use arrow::error::ArrowError;
use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use arrow::record_batch::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use lienthong::QueryStream;
use lienthong::datafusion::arrow::datatypes::SchemaRef;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::error::{QueryError, to_py};
use crate::runtime::{runtime, wait};

/// Record batches as they come, from the engine or from a remote server.
pub(crate) type Batches = BoxStream<'static, Result<RecordBatch, lienthong::Error>>;

enum State {
    /// Not read yet: the first export streams it.
    Pending(Batches),
    /// Being read by a call on another thread.
    Reading,
    /// Read to the end and kept; exports share the buffers.
    Collected(Vec<RecordBatch>),
    /// Handed to a consumer as a stream, or failed, or cancelled: nothing left to read.
    Gone(&'static str),
}

/// What the audit says of a query, for the caller's display.
#[derive(Default)]
pub(crate) struct Governance {
    pub tables: Vec<String>,
    pub policies: Vec<String>,
    pub query_id: Option<String>,
}

/// The results of a query (`lienthong.QueryResult` wraps it).
#[pyclass(name = "QueryResult", module = "lienthong._internal", frozen)]
pub(crate) struct PyQueryResult {
    schema: SchemaRef,
    state: Mutex<State>,
    governance: Governance,
}

impl PyQueryResult {
    /// The results of a governed query of this process.
    pub(crate) fn local(stream: QueryStream) -> Self {
        let governance = Governance {
            tables: stream.tables().to_vec(),
            policies: stream.policies().to_vec(),
            query_id: Some(stream.query_id().to_owned()),
        };
        Self::new(stream.schema(), stream.boxed(), governance)
    }

    pub(crate) fn new(schema: SchemaRef, batches: Batches, governance: Governance) -> Self {
        Self {
            schema,
            state: Mutex::new(State::Pending(batches)),
            governance,
        }
    }

    /// What is left to read: the kept batches, or the stream itself (then marked as being read).
    fn take(&self) -> PyResult<Taken> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| QueryError::new_err("the result was poisoned by a failed read"))?;
        match std::mem::replace(&mut *state, State::Reading) {
            State::Collected(batches) => {
                *state = State::Collected(batches.clone());
                Ok(Taken::Kept(batches))
            }
            State::Pending(stream) => Ok(Taken::Stream(stream)),
            State::Reading => Err(QueryError::new_err("the result is being read by another thread")),
            State::Gone(why) => {
                *state = State::Gone(why);
                Err(QueryError::new_err(format!("{why}; run the query again")))
            }
        }
    }

    fn put(&self, new: State) {
        if let Ok(mut state) = self.state.lock() {
            *state = new;
        }
    }

    /// Reads the whole result (once) and returns its batches.
    pub(crate) fn batches(&self, py: Python<'_>) -> PyResult<Vec<RecordBatch>> {
        let stream = match self.take()? {
            Taken::Kept(batches) => return Ok(batches),
            Taken::Stream(stream) => stream,
        };
        match wait(py, stream.try_collect::<Vec<_>>()) {
            Ok(Ok(batches)) => {
                self.put(State::Collected(batches.clone()));
                Ok(batches)
            }
            Ok(Err(error)) => {
                self.put(State::Gone("the query failed"));
                Err(to_py(py, error))
            }
            Err(interrupted) => {
                self.put(State::Gone("the query was cancelled"));
                Err(interrupted)
            }
        }
    }
}

/// What [`PyQueryResult::take`] hands out.
enum Taken {
    Kept(Vec<RecordBatch>),
    Stream(Batches),
}

#[pymethods]
impl PyQueryResult {
    /// Ids of the grants and tag rules that governed the query.
    #[getter]
    fn policies(&self) -> Vec<String> {
        self.governance.policies.clone()
    }

    /// The tables the query read, as `database.table`.
    #[getter]
    fn tables(&self) -> Vec<String> {
        self.governance.tables.clone()
    }

    /// The query's id in the audit log (`None` for a remote query).
    #[getter]
    fn query_id(&self) -> Option<String> {
        self.governance.query_id.clone()
    }

    /// Rows in the result, once it has been read (`None` before).
    #[getter]
    fn num_rows(&self) -> Option<usize> {
        match &*self.state.lock().ok()? {
            State::Collected(batches) => Some(batches.iter().map(RecordBatch::num_rows).sum()),
            _ => None,
        }
    }

    /// Reads the whole result now (the GIL released; Ctrl-C cancels the query).
    fn collect(&self, py: Python<'_>) -> PyResult<()> {
        self.batches(py).map(drop)
    }

    /// The Arrow C stream of the results. Before [`collect`] it streams the query (once); after,
    /// it exports the kept batches. Buffers are shared, never copied.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is ours to give: the caller's view of the data, never cast to another.
        let _ = requested_schema;
        let reader: Box<dyn RecordBatchReader + Send> = match self.take()? {
            Taken::Kept(batches) => Box::new(RecordBatchIterator::new(
                batches.into_iter().map(Ok),
                Arc::clone(&self.schema),
            )),
            Taken::Stream(stream) => {
                self.put(State::Gone("the results were already streamed"));
                Box::new(Blocking {
                    schema: Arc::clone(&self.schema),
                    stream,
                })
            }
        };
        PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(reader), c"arrow_array_stream")
    }

    /// The Arrow C schema of the results.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.schema.as_ref()).map_err(|e| QueryError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }
}

/// A stream read batch by batch by a consumer that is not async (the C stream's `get_next`).
struct Blocking {
    schema: SchemaRef,
    stream: Batches,
}

impl Iterator for Blocking {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(_) => return Some(Err(ArrowError::ExternalError("no query runtime".into()))),
        };
        runtime
            .block_on(self.stream.next())
            .map(|item| item.map_err(|e| ArrowError::ExternalError(Box::new(e))))
    }
}

impl RecordBatchReader for Blocking {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// Reads a result to its end in Rust and returns its row count: the baseline of the Python
/// benchmark (the same work as the Rust API's `collect`, without the hand-over to Python).
#[pyfunction]
#[pyo3(name = "_drain")]
pub(crate) fn drain(py: Python<'_>, result: &PyQueryResult) -> PyResult<usize> {
    Ok(result.batches(py)?.iter().map(RecordBatch::num_rows).sum())
}
