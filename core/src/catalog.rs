//! The catalog at run time: the declared catalog, its sources, the audit log, the node's secret
//! and the query limits, shared by every session opened on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use lienthong_spec::PUBLIC_PRINCIPAL;

use crate::audit::{AuditLog, Event, Outcome};
use crate::error::{Error, Result};
use crate::mask::PseudonymSecret;
use crate::node::{Call, NodeKey, PresentedCertificate, Replays};
use crate::session::Session;
use crate::source::Sources;

/// Per-query limits. `None` means no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Most rows a query may return; one more fails the query (never a silently cut result).
    pub max_rows: Option<u64>,
    /// Longest a query may run, from planning to its last batch.
    pub timeout: Option<Duration>,
    /// Memory for a session's operators (sorts, joins, aggregates); those that can spill to disk.
    pub memory_bytes: Option<usize>,
}

/// How to open a catalog; every field has a default.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The audit log file. Default: the catalog's `node.audit_log`, else `audit/audit.jsonl` next
    /// to the catalog file.
    pub audit_path: Option<PathBuf>,
    /// The node's pseudonym secret. Default: `LIENTHONG_PSEUDONYM_KEY` from the environment;
    /// without one, queries that need a pseudonym fail.
    pub pseudonym_secret: Option<PseudonymSecret>,
    /// The day grants are checked against. Default: today (UTC).
    pub today: Option<NaiveDate>,
    /// Per-query limits.
    pub limits: Limits,
    /// Evaluate row policies in the engine instead of sending them to the sources. For comparing
    /// results with and without pushdown; slower, never less safe.
    pub no_pushdown: bool,
    /// How sub-queries reach other nodes (`node` sources). `lienthong-server` provides the Flight
    /// SQL one; without it, queries over another node's tables fail, naming the source.
    pub transport: Option<Arc<dyn crate::remote::Transport>>,
}

pub(crate) struct Inner {
    pub spec: Arc<lienthong_spec::Catalog>,
    pub path: PathBuf,
    pub sources: Sources,
    /// Shared with the catalogs [`Catalog::reload`] makes: one chain, one writer.
    pub audit: Arc<AuditLog>,
    pub secret: Option<PseudonymSecret>,
    pub today: Option<NaiveDate>,
    pub limits: Limits,
    pub no_pushdown: bool,
    /// The node's signing key, when the catalog names one.
    pub node_key: Option<NodeKey>,
    /// Assertion ids already accepted from peers.
    pub replays: Arc<Replays>,
    pub transport: Option<Arc<dyn crate::remote::Transport>>,
    /// The counters of volume quotas, next to the audit log (kept across reloads).
    pub quotas: Arc<crate::quota::QuotaBook>,
    /// What every session's queries run on: the sources' object stores and the caches of file
    /// metadata (Parquet footers and page indexes, checked against each file's size and time)
    /// and statistics, shared so that a query does not read them again. Sessions add their
    /// own memory pool.
    pub runtime: Arc<RuntimeEnv>,
}

/// What a reloaded catalog keeps of the one it replaces.
struct Kept {
    audit: Arc<AuditLog>,
    quotas: Arc<crate::quota::QuotaBook>,
    replays: Arc<Replays>,
    secret: Option<PseudonymSecret>,
    today: Option<NaiveDate>,
    limits: Limits,
    no_pushdown: bool,
    transport: Option<Arc<dyn crate::remote::Transport>>,
}

impl Inner {
    /// The key under which the audit log digests SQL literals: the node's secret when there is
    /// one (digests cannot then be brute-forced without it), else the node's name.
    pub(crate) fn audit_key(&self) -> Vec<u8> {
        let mut key = b"lienthong-audit-literals:".to_vec();
        key.extend_from_slice(self.spec.node.name.as_bytes());
        if let Some(secret) = &self.secret {
            key.extend_from_slice(&secret.audit_salt());
        }
        key
    }
}

/// An opened catalog. Cheap to clone; open sessions with [`Catalog::session`].
///
/// ```no_run
/// # async fn demo() -> lienthong::Result<()> {
/// let catalog = lienthong::Catalog::open("demo-data/catalog.yaml")?;
/// let session = catalog.session("ward-officer", Some("tthc"))?;
/// let batches = session.sql("SELECT full_name FROM population.citizens LIMIT 5").await?.collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Catalog {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("audit_path", &self.audit_path)
            .field("today", &self.today)
            .field("limits", &self.limits)
            .field("no_pushdown", &self.no_pushdown)
            .field("transport", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Reads and validates the catalog file. Sources are not touched: one that is down fails only
    /// the queries that need it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`Catalog::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let file = lienthong_spec::load(path.as_ref())?;
        let secret = match options.pseudonym_secret {
            Some(secret) => Some(secret),
            None => PseudonymSecret::from_env().transpose().map_err(Error::Query)?,
        };
        let audit_path = options
            .audit_path
            .unwrap_or_else(|| match &file.catalog.node.audit_log {
                Some(path) => file.base_dir().join(path),
                None => file.base_dir().join("audit").join("audit.jsonl"),
            });
        let kept = Kept {
            quotas: Arc::new(crate::quota::QuotaBook::beside(&audit_path)),
            audit: Arc::new(AuditLog::new(audit_path)),
            replays: Arc::default(),
            secret,
            today: options.today,
            limits: options.limits,
            no_pushdown: options.no_pushdown,
            transport: options.transport,
        };
        Self::assemble(file, kept)
    }

    /// The catalog as its file now reads, for the queries that start from now on (sessions already
    /// open keep the policy they started with). What is not in the file stays as it was opened:
    /// the audit log (the same chain, whatever `node.audit_log` now says), the pseudonym secret,
    /// the options, and the one-time ids already accepted from peers. A file that no longer
    /// validates is an error and changes nothing.
    ///
    /// ```no_run
    /// # fn main() -> lienthong::Result<()> {
    /// let catalog = lienthong::Catalog::open("demo-data/catalog.yaml")?;
    /// // … an administrator removes a grant from the file …
    /// let catalog = catalog.reload()?;
    /// # Ok(()) }
    /// ```
    pub fn reload(&self) -> Result<Self> {
        let file = lienthong_spec::load(&self.inner.path)?;
        let inner = &self.inner;
        let kept = Kept {
            audit: Arc::clone(&inner.audit),
            quotas: Arc::clone(&inner.quotas),
            replays: Arc::clone(&inner.replays),
            secret: inner.secret.clone(),
            today: inner.today,
            limits: inner.limits.clone(),
            no_pushdown: inner.no_pushdown,
            transport: inner.transport.clone(),
        };
        Self::assemble(file, kept)
    }

    fn assemble(file: lienthong_spec::CatalogFile, kept: Kept) -> Result<Self> {
        let base_dir = file.base_dir().to_owned();
        let node_key = match &file.catalog.node.key {
            Some(key) => Some(NodeKey::read(&base_dir.join(key))?),
            None => None,
        };
        let spec = Arc::new(file.catalog);
        let sources = Sources::new(Arc::clone(&spec), base_dir);
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(sources.object_stores())
            // Listings are not cached: a file added to a table's directory is read by the next
            // query.
            .with_object_list_cache_limit(0)
            .build_arc()
            .map_err(Error::from_datafusion)?;
        Ok(Self {
            inner: Arc::new(Inner {
                sources,
                runtime,
                spec,
                path: file.path,
                audit: kept.audit,
                quotas: kept.quotas,
                secret: kept.secret,
                today: kept.today,
                limits: kept.limits,
                no_pushdown: kept.no_pushdown,
                node_key,
                replays: kept.replays,
                transport: kept.transport,
            }),
        })
    }

    /// The declared catalog.
    pub fn spec(&self) -> &lienthong_spec::Catalog {
        &self.inner.spec
    }

    /// The catalog file it was opened from (relative paths in the catalog start at its directory).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The audit log's file.
    pub fn audit_path(&self) -> &Path {
        self.inner.audit.path()
    }

    /// The digest under which the audit log records `value` when a query names it: how an owner
    /// finds the queries that looked a citizen up, without the log holding the citizen's ID.
    pub fn literal_digest(&self, value: &str) -> String {
        crate::redact::literal_digest(&self.inner.audit_key(), value)
    }

    /// Forgets cached source tables and schemas; the next queries ask the sources again.
    pub fn refresh(&self) {
        self.inner.sources.refresh();
    }

    /// Opens a session as `principal` (already authenticated by the caller of this function) for
    /// `purpose`. `public` needs no purpose; every other principal needs one the catalog declares.
    /// A refusal is audited and does not say whether the principal or the purpose was wrong.
    pub fn session(&self, principal: &str, purpose: Option<&str>) -> Result<Session> {
        let spec = &self.inner.spec;
        let known = if principal == PUBLIC_PRINCIPAL {
            true
        } else {
            spec.principals.contains_key(principal) && purpose.is_some_and(|p| spec.purposes.contains_key(p))
        };
        if !known {
            return Err(self.deny_session(
                principal,
                purpose,
                "unknown principal, or a purpose that is missing or not declared",
            ));
        }
        Ok(Session::new(Arc::clone(&self.inner), principal, purpose))
    }

    /// Opens a session as `principal` once `secret` proves it against the catalog's credential
    /// (an Argon2 hash or an environment variable), for edges that authenticate callers
    /// themselves. A wrong secret, an unknown principal and a principal without a credential are
    /// refused alike, after the same work, and audited. `public` needs no secret and takes none.
    ///
    /// This blocks for the Argon2 check (tens of milliseconds): call it off async executors.
    ///
    /// ```no_run
    /// # fn demo(secret: &str) -> lienthong::Result<()> {
    /// let catalog = lienthong::Catalog::open("demo-data/catalog.yaml")?;
    /// let session = catalog.session_with_secret("inspector", secret, Some("inspection"))?;
    /// assert_eq!(session.principal(), "inspector");
    /// # Ok(()) }
    /// ```
    pub fn session_with_secret(&self, principal: &str, secret: &str, purpose: Option<&str>) -> Result<Session> {
        if principal == PUBLIC_PRINCIPAL || !crate::credential::verify_secret(&self.inner.spec, principal, secret) {
            return Err(self.deny_session(principal, purpose, "unknown principal or wrong credential"));
        }
        self.session(principal, purpose)
    }

    /// The node's public key (`ed25519:…`), for the catalogs of the nodes that pin it.
    pub fn node_public_key(&self) -> Option<&str> {
        self.inner.node_key.as_ref().map(NodeKey::public_key)
    }

    /// Verifies the assertion of a call from a peer node (see [`crate::node`]): signature with
    /// the peer's pinned key, audience, expiry, single use, the client certificate when the peer
    /// is pinned to one, and that the peer may speak for the agency, purpose and attributes it
    /// asserts. A refusal is audited with its reason and answered without it.
    pub fn verify_call(&self, assertion: &str, certificate: Option<&PresentedCertificate>) -> Result<Call> {
        let now = crate::session::unix_seconds().max(0).cast_unsigned();
        crate::node::verify_assertion(&self.inner.spec, &self.inner.replays, assertion, certificate, now).map_err(
            |reason| {
                let error = Error::Denied("the calling node's assertion was not accepted".into());
                let audited = self.inner.audit.append(&Event {
                    kind: "session".into(),
                    time: crate::session::now_rfc3339(),
                    node: self.inner.spec.node.name.clone(),
                    outcome: Some(Outcome::Denied),
                    error: Some(reason),
                    ..Event::default()
                });
                audited.err().unwrap_or(error)
            },
        )
    }

    /// A session for the caller of a verified [`Call`], to run `sql`, which must be the SQL the
    /// assertion signed. The session plans under this node's grants for callers arriving through
    /// that peer (`to.peers`); this node's answer is the ceiling of what the caller gets.
    pub fn remote_session(&self, call: &Call, sql: &str) -> Result<Session> {
        if crate::node::sql_sha256(sql) != call.sql_sha256 {
            let session = Session::remote(Arc::clone(&self.inner), call)?;
            return Err(session.deny("the SQL is not the one the calling node signed"));
        }
        Session::remote(Arc::clone(&self.inner), call)
    }

    /// This node's signed acknowledgement of `call`, for the calling node to check against the
    /// key it pinned.
    pub fn acknowledge(&self, call: &Call) -> Result<String> {
        let key = self
            .inner
            .node_key
            .as_ref()
            .ok_or_else(|| Error::Denied("this node has no key to answer other nodes with".into()))?;
        crate::node::acknowledge(key, &self.inner.spec.node.name, call)
    }

    /// Audits a refused session and gives back the error to answer with (or the audit's).
    fn deny_session(&self, principal: &str, purpose: Option<&str>, message: &str) -> Error {
        let error = Error::Denied(message.into());
        let audited = self.inner.audit.append(&Event {
            kind: "session".into(),
            time: crate::session::now_rfc3339(),
            node: self.inner.spec.node.name.clone(),
            principal: principal.to_owned(),
            purpose: purpose.map(str::to_owned),
            outcome: Some(Outcome::Denied),
            error: Some(error.to_string()),
            ..Event::default()
        });
        audited.err().unwrap_or(error)
    }
}
