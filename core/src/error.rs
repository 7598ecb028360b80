//! The one error type of the crate, by failure class: the caller's fault (denied, bad query), the
//! catalog's, a source's, the audit's, or a bug of ours.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog could not be read or is invalid (every problem, with file, line and field).
    #[error(transparent)]
    Catalog(#[from] lienthong_spec::Error),
    /// The caller is not allowed to do this. The message never reveals what exists.
    #[error("denied: {0}")]
    Denied(String),
    /// The query is not valid SQL, names something the caller cannot see, or failed while running.
    #[error("query failed: {0}")]
    Query(String),
    /// A source the query needs could not be reached or read.
    #[error("source `{source_name}` is unavailable: {message}")]
    Source {
        /// The source's name in the catalog.
        source_name: String,
        /// What happened.
        message: String,
    },
    /// The audit log could not be written; the query was not run or its results were withheld.
    #[error("audit log {path}: {message}")]
    Audit {
        /// The audit file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// A per-query limit was reached (rows, time, memory) or the query was cancelled.
    #[error("limit: {0}")]
    Limit(String),
    /// A volume quota of the catalog is used up (or the query would go past it): the query was
    /// refused, or failed without releasing a row.
    #[error("quota exhausted: {0}")]
    Quota(String),
    /// A check on our own plan failed: the query is refused rather than run ungoverned. A bug.
    #[error("internal error (query refused, fail closed): {0}")]
    Internal(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Maps a DataFusion error to the failure class the caller should see. Errors that a source
    /// raised while running are recognised by the marker that [`crate::source`] puts on them.
    pub(crate) fn from_datafusion(error: DataFusionError) -> Self {
        let error = error.find_root();
        if let DataFusionError::External(e) = error
            && let Some(source) = e.downcast_ref::<SourceFailure>()
        {
            return Self::Source {
                source_name: source.source_name.clone(),
                message: source.message.clone(),
            };
        }
        if let DataFusionError::External(e) = error
            && let Some(remote) = e.downcast_ref::<crate::remote::RemoteFailure>()
        {
            use crate::remote::RemoteError;
            let source_name = remote.source_name.clone();
            return match &remote.error {
                RemoteError::Denied(m) => Self::Denied(format!("the owner node (source `{source_name}`) refused: {m}")),
                RemoteError::Unavailable(m) => Self::Source {
                    source_name,
                    message: m.clone(),
                },
                RemoteError::Limit(m) if m.starts_with("quota exhausted: ") => {
                    Self::Quota(format!("the owner node (source `{source_name}`): {m}"))
                }
                RemoteError::Limit(m) => Self::Limit(format!("the owner node (source `{source_name}`): {m}")),
                RemoteError::Query(m) => Self::Query(format!("the owner node (source `{source_name}`): {m}")),
            };
        }
        if matches!(error, DataFusionError::ExecutionJoin(_)) || error.message().contains("panicked") {
            // A task that panicked or was aborted: its text is the panic's, which can hold values.
            tracing::error!("a query task failed: {error}");
            return Self::Internal(crate::unsupported::PANIC_MESSAGE.into());
        }
        if let DataFusionError::ResourcesExhausted(message) = error {
            return Self::Limit(format!("memory: {message}"));
        }
        Self::Query(error.message().to_string())
    }
}

/// A source failure carried through DataFusion as an external error.
#[derive(Debug, thiserror::Error)]
#[error("source `{source_name}` is unavailable: {message}")]
pub(crate) struct SourceFailure {
    pub(crate) source_name: String,
    pub(crate) message: String,
}
