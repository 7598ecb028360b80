//! # lienthong
//!
//! Governed federated queries over the shared databases of government agencies.
//!
//! The crate turns a catalog (see [`lienthong_spec`]) into DataFusion tables, plans each query as a
//! *principal* acting for a declared *purpose*, pushes the owner agencies' access policies into the
//! plan, audits every access and returns Arrow record batches. Nothing here knows about Flight or
//! Python: those edges live in `lienthong-server` and the Python bindings.
//!
//! - [`policy`]: what one caller may see of one table (grants and tag rules resolved).
//!
//! The query engine (sources, plan rewriting, audit) is being built on top of these.

pub use datafusion;
pub use lienthong_spec as spec;

pub mod policy;
