//! # lienthong-spec: the catalog file format
//!
//! A lienthong *catalog* says which agencies exist, which databases they own, where the data lives,
//! who may query it, for which purpose, and what each caller may see (grants, row filters, masks,
//! tag rules). This crate is the format and nothing else: serde types for YAML and JSON, a loader
//! that reports every problem at once with file, line, column and field path, the semantic checks,
//! and the JSON Schema generated from the types. No engine code lives here.
//!
//! The format is described for people in `catalog-spec/SPEC.md`.
//!
//! ```
//! let text = r#"
//! version: 1
//! node: { name: demo, agency: "000.00.00.G01" }
//! agencies:
//!   "000.00.00.G01": { name: { vi: Bộ Công an, en: Ministry of Public Security } }
//! "#;
//! let catalog = lienthong_spec::parse_str(text, "catalog.yaml")?;
//! assert_eq!(catalog.node.agency.as_str(), "000.00.00.G01");
//! # Ok::<(), lienthong_spec::Error>(())
//! ```

mod diagnostic;
mod error;
mod ids;
mod load;
mod model;
pub mod row_filter;
mod schema;
mod tree;
mod validate;
mod write;

pub use diagnostic::{Diagnostic, Diagnostics, FieldPath, ProblemKind, Segment};
pub use error::{Error, Result};
pub use ids::{
    AGENCY_CODE_PATTERN, AgencyCode, CURRENT_VERSION, FormatVersion, NODE_KEY_PREFIX, is_env_name, is_key_name,
    is_sql_name, is_tag, node_public_key,
};
pub use load::{CatalogFile, load, parse_str};
pub use model::{
    Agency, AggregateOnly, AttributeValue, Catalog, Classification, ClientCertificate, Column, ColumnType, Combine,
    Credential, Database, EnvRef, Generalization, Grant, Lookup, Mask, Node, NodeTls, OptionValue, Peer,
    PostgresConnection, Principal, Purpose, Quota, QuotaLimits, QuotaSubject, Selector, Source, SourceKind, SslMode,
    Table, TagRule, Text, TokenIssuer,
};
pub use schema::json_schema;
pub use validate::PUBLIC_PRINCIPAL;
pub use write::to_yaml;
