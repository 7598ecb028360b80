//! Tables of other nodes: the sub-queries sent to the node that owns them.
//!
//! A table whose source is another node (`kind: node`) is planned here like any other, under
//! this node's policy for the caller. After the plan is checked, [`federate`] replaces each
//! largest sub-plan that reads only one node's tables, and that this node's policy lets pass
//! whole (no row filter, mask or aggregate-only of this node on it), by one [`RemoteQuery`]: the
//! sub-plan as SQL, sent to the owner with a signed assertion of the caller
//! ([`crate::node`]). The owner plans that SQL as the caller under its own grants, so joins,
//! filters and aggregates over its tables run there and only their result travels. Where this
//! node adds restrictions of its own, they stay here, above a sub-query that reads the table.
//!
//! The transport is not here: `lienthong-server` implements [`Transport`] over Flight SQL.

mod exec;
mod federate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result as DfResult, internal_err};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use lienthong_spec::{AttributeValue, Source};

pub(crate) use exec::{RemotePlanner, RemoteQuery, absorbed_barriers};
pub(crate) use federate::federate;

use crate::audit::RemoteCall;
use crate::catalog::Inner;
use crate::node::{ASSERTION_TTL_SECONDS, Assertion};

/// How sub-queries reach other nodes. `lienthong-server` implements it over Flight SQL.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends `outgoing.sql` to the node of `outgoing.source`, each request with a fresh
    /// assertion from [`Outgoing::assertion`], checks the node's acknowledgement with
    /// [`Outgoing::check_acknowledgement`], and streams the answer. Errors raised while
    /// streaming should be [`RemoteError::into_datafusion`].
    async fn query(&self, outgoing: Outgoing) -> Result<SendableRecordBatchStream, RemoteError>;
}

/// Why another node gave no answer, by class: what the caller at this node is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The node refused the caller, the purpose or the query.
    #[error("{0}")]
    Denied(String),
    /// The node could not be reached, or failed.
    #[error("{0}")]
    Unavailable(String),
    /// A limit of the node was reached.
    #[error("{0}")]
    Limit(String),
    /// The node found the query invalid.
    #[error("{0}")]
    Query(String),
}

impl RemoteError {
    /// The error as DataFusion carries it out of a stream, for [`crate::Error`] to recognise.
    pub fn into_datafusion(self, source_name: &str) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(RemoteFailure {
            source_name: source_name.to_owned(),
            error: self,
        }))
    }
}

/// A remote error on its way through DataFusion.
#[derive(Debug, thiserror::Error)]
#[error("source `{source_name}`: {error}")]
pub(crate) struct RemoteFailure {
    pub(crate) source_name: String,
    pub(crate) error: RemoteError,
}

/// A sub-query on its way to another node.
pub struct Outgoing {
    /// The catalog's name of the source (kind `node`).
    pub source_name: String,
    /// The source: URL, node name, pinned key, TLS files.
    pub source: Source,
    /// Where relative paths of the source (TLS files) start.
    pub base_dir: PathBuf,
    /// The SQL the node runs.
    pub sql: String,
    signer: Signer,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("source_name", &self.source_name)
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    /// A fresh one-time assertion for one request of this call, and its id.
    pub fn assertion(&self) -> Result<(String, String), RemoteError> {
        self.signer.sign()
    }

    /// Checks the owner's acknowledgement of the assertion `id` against its pinned key.
    pub fn check_acknowledgement(&self, token: Option<&str>, id: &str) -> Result<(), RemoteError> {
        let owner = self.source.node.as_deref().unwrap_or_default();
        let refused = |why: String| RemoteError::Unavailable(format!("node `{owner}` did not prove who it is: {why}"));
        let token = token.ok_or_else(|| refused("no acknowledgement".into()))?;
        crate::node::verify_acknowledgement(
            token,
            owner,
            self.source.public_key.as_deref().unwrap_or_default(),
            &self.signer.template.iss,
            id,
        )
        .map_err(refused)
    }
}

/// Makes the assertions of one call.
#[derive(Clone)]
struct Signer {
    inner: Arc<Inner>,
    template: Assertion,
}

impl Signer {
    fn sign(&self) -> Result<(String, String), RemoteError> {
        let key = self
            .inner
            .node_key
            .as_ref()
            .ok_or_else(|| RemoteError::Denied("this node has no key to sign its calls with".into()))?;
        let now = crate::session::unix_seconds().max(0).cast_unsigned();
        let mut claims = self.template.clone();
        claims.jti = random_id();
        claims.iat = now;
        claims.exp = now + ASSERTION_TTL_SECONDS;
        let token = claims.sign(key).map_err(RemoteError::Denied)?;
        Ok((token, claims.jti))
    }
}

fn random_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // A failing system RNG leaves zeros; the owner then refuses the repeated id, failing closed.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    crate::node::hex_of(&bytes)
}

/// The caller and the query the sub-queries of one query are sent for.
pub(crate) struct Calls {
    pub inner: Arc<Inner>,
    pub principal: String,
    pub agency: String,
    pub roles: Vec<String>,
    pub attributes: BTreeMap<String, AttributeValue>,
    pub purpose: String,
    pub correlation_id: String,
    /// What was sent and received, for the audit.
    pub log: Arc<Mutex<Vec<RemoteCall>>>,
}

impl Calls {
    /// The outgoing call of `sql` to `source_name`, and its line in the log.
    fn outgoing(&self, source_name: &str, sql: &str) -> Result<(Outgoing, usize), RemoteError> {
        let source = self
            .inner
            .spec
            .sources
            .get(source_name)
            .ok_or_else(|| RemoteError::Unavailable("not declared".into()))?;
        let node = source.node.clone().unwrap_or_default();
        let attributes = self
            .attributes
            .iter()
            .filter(|(name, _)| source.attributes.contains(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let sql_sha256 = crate::node::sql_sha256(sql);
        let template = Assertion {
            iss: self.inner.spec.node.name.clone(),
            aud: node.clone(),
            exp: 0,
            iat: 0,
            jti: String::new(),
            cid: self.correlation_id.clone(),
            sub: self.principal.clone(),
            agency: self.agency.clone(),
            roles: self.roles.clone(),
            attributes,
            purpose: self.purpose.clone(),
            sql: sql_sha256.clone(),
        };
        let line = self.record(RemoteCall {
            node,
            correlation_id: self.correlation_id.clone(),
            sql_sha256,
            rows: Some(0),
        });
        Ok((
            Outgoing {
                source_name: source_name.to_owned(),
                source: source.clone(),
                base_dir: self.inner.path.parent().map(PathBuf::from).unwrap_or_default(),
                sql: sql.to_owned(),
                signer: Signer {
                    inner: Arc::clone(&self.inner),
                    template,
                },
            },
            line,
        ))
    }

    fn record(&self, call: RemoteCall) -> usize {
        let Ok(mut log) = self.log.lock() else { return 0 };
        log.push(call);
        log.len() - 1
    }

    fn add_rows(&self, line: usize, rows: u64) {
        if let Ok(mut log) = self.log.lock()
            && let Some(call) = log.get_mut(line)
        {
            call.rows = Some(call.rows.unwrap_or(0) + rows);
        }
    }
}

/// A table of another node, as this node's raw table: the declared columns. It is never scanned
/// itself; [`federate`] sends every read of it to its node.
#[derive(Debug)]
pub(crate) struct RemoteTable {
    pub source_name: String,
    pub schema: SchemaRef,
}

#[async_trait]
impl TableProvider for RemoteTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        internal_err!(
            "a table of node source `{}` is only read through a sub-query sent to it",
            self.source_name
        )
    }
}
