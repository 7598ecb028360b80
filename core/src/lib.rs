//! # lienthong
//!
//! Governed federated queries over the shared databases of government agencies.
//!
//! The crate turns a catalog (see [`lienthong_spec`]) into DataFusion tables, plans each query as a
//! *principal* acting for a declared *purpose*, pushes the owner agencies' access policies into the
//! plan, audits every access and returns Arrow record batches. Nothing here knows about Flight or
//! Python: those edges live in `lienthong-server` and the Python bindings.
//!
//! This foundation release only re-exports the catalog format; the engine arrives with the
//! governed-query work (sources, governance, audit).

pub use datafusion;
pub use lienthong_spec as spec;
