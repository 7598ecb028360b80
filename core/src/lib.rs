//! # lienthong
//!
//! Governed federated queries over the shared databases of government agencies.
//!
//! The crate turns a catalog (see [`lienthong_spec`]) into DataFusion tables, plans each query as a
//! *principal* acting for a declared *purpose*, pushes the owner agencies' access policies into the
//! plan, audits every access and returns Arrow record batches. Nothing here knows about Flight or
//! Python: those edges live in `lienthong-server` and the Python bindings.
//!
//! ```no_run
//! # async fn demo() -> lienthong::Result<()> {
//! let catalog = lienthong::Catalog::open("demo-data/catalog.yaml")?;
//! let session = catalog.session("ward-officer", Some("tthc"))?;
//! let batches = session
//!     .sql("SELECT citizen_id, full_name FROM population.citizens WHERE sex = 'F' LIMIT 10")
//!     .await?
//!     .collect()
//!     .await?;
//! println!("{}", session.explain("SELECT count(*) FROM land.parcels").await?);
//! # Ok(()) }
//! ```
//!
//! - [`catalog`]: open a catalog, with its sources, audit log, secret and limits.
//! - [`session`]: a principal and a purpose; run SQL, explain it.
//! - [`credential`]: principals' secrets checked against the catalog (for the edges).
//! - [`policy`]: what one caller may see of one table (grants and tag rules resolved).
//! - [`mask`]: the masks and the node's pseudonym secret.
//! - [`audit`]: the hash-chained audit log and its verification.
//! - [`node`]: the node's key and the signed assertions that travel between nodes.
//! - [`quota`]: what a caller's volume quotas leave ([`Session::quotas`]) and what the audit
//!   records of them.
//! - [`remote`]: sub-queries sent to the nodes that own the tables, and the [`remote::Transport`]
//!   they go through.
//!
//! Inside: `source` (raw tables, and the declared types at a database's boundary), `store` (S3,
//! GCS and Azure object stores of file sources), `govern` (governed table plans), `barrier` (the
//! node the optimizer cannot see through), `aggregate` (the shapes allowed over aggregate-only
//! tables) and `guard` (their group-size guard), `check` (the post-optimization check),
//! `unsupported` (what the engine cannot run safely, and planning on its own stack), `visible` (the
//! caller's catalog), `redact` (SQL and errors as the audit keeps them), `stream` (results under
//! limits, with their completion record).

pub use datafusion;
pub use lienthong_spec as spec;

mod aggregate;
pub mod audit;
mod barrier;
pub mod catalog;
mod check;
pub mod credential;
mod error;
mod govern;
mod guard;
mod lookup;
pub mod mask;
pub mod node;
mod planned;
pub mod policy;
pub mod quota;
mod redact;
pub mod remote;
pub mod session;
mod source;
mod store;
mod stream;
mod unsupported;
mod visible;

pub use catalog::{Catalog, Limits, OpenOptions};
pub use error::{Error, Result};
pub use session::{Described, PlannedQuery, QueryStream, Session};
