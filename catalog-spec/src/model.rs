//! The catalog file, as Rust types.
//!
//! These types are the format: serde reads them from YAML and JSON, schemars derives the published
//! JSON Schema from them, and the doc comments below become the schema's descriptions. Every struct
//! denies unknown fields, so a misspelt key is an error, not a silently ignored rule.
//!
//! Collections keyed by a name (agencies, purposes, principals, sources, databases, tables, grants,
//! tag rules) are YAML mappings, so the name is written once and duplicates are caught by the loader.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{AgencyCode, FormatVersion};

/// A lienthong catalog: one node's view of the agencies, their data and the rules for sharing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lienthong catalog")]
pub struct Catalog {
    /// Version of the catalog format. This build reads version 1.
    pub version: FormatVersion,
    /// The node that serves this catalog.
    pub node: Node,
    /// Agencies that own data, consume it or operate nodes, keyed by electronic code
    /// (QCVN 102:2016, e.g. `000.00.00.G01`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agencies: BTreeMap<String, Agency>,
    /// Purposes for which data may be processed, keyed by purpose code (e.g. `tthc`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub purposes: BTreeMap<String, Purpose>,
    /// Officials and services that may query, keyed by principal id (e.g. `ward-officer`).
    /// The id `public` is reserved for the anonymous principal and is never declared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principals: BTreeMap<String, Principal>,
    /// Other lienthong nodes that may call this one on behalf of their callers, keyed by the
    /// peer's node name (the issuer of its assertions), with what each may speak for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peers: BTreeMap<String, Peer>,
    /// Identity providers whose signed JSON Web Tokens the Flight SQL server accepts as bearer
    /// tokens, keyed by a name of your choice (e.g. `quangninh-sso`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_issuers: BTreeMap<String, TokenIssuer>,
    /// Where the data lives, keyed by source name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, Source>,
    /// Shared databases, keyed by database name (e.g. `population`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub databases: BTreeMap<String, Database>,
    /// Grants from owner agencies to consumers, keyed by grant id (audit records name them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, Grant>,
    /// Rules that apply to every column carrying a tag, in every database, keyed by rule id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag_rules: BTreeMap<String, TagRule>,
    /// Volume quotas: how many rows, or looked-up keys, a principal or an agency may receive per
    /// query, per day and per month, keyed by quota id (audit records name them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quotas: BTreeMap<String, Quota>,
}

/// A text in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Vietnamese.
    #[schemars(length(min = 1))]
    pub vi: String,
    /// English.
    #[schemars(length(min = 1))]
    pub en: String,
}

/// The node serving this catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Name of the node: the first part of a fully qualified table name `<node>.<database>.<table>`.
    pub name: String,
    /// Electronic code of the agency that operates the node.
    pub agency: AgencyCode,
    /// Where the audit log is written: a file path, relative to the catalog file unless absolute.
    /// Default: `audit/audit.jsonl` next to the catalog file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<String>,
    /// The node's signing key: an Ed25519 private key in a PKCS#8 PEM file (`lienthong node-key`
    /// makes one), relative to the catalog file unless absolute. It signs the assertions this node
    /// sends with the queries it forwards to other nodes; peers pin its public key. A file, never
    /// the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What the node is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// Another node that may call this one, speaking for its own callers (a provincial LGSP for the
/// province's agencies). A call from it carries an assertion signed with its key; this node then
/// plans the query as the asserted caller under its own grants, which select such callers with
/// `to.peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The peer's public key as `lienthong node-key` prints it: `ed25519:` and the 32-byte key in
    /// base64url.
    pub public_key: String,
    /// Agencies the peer may speak for; each also covers its sub-units declared here.
    #[schemars(length(min = 1))]
    pub agencies: Vec<AgencyCode>,
    /// Purposes the peer may assert.
    #[schemars(length(min = 1))]
    pub purposes: Vec<String>,
    /// Principal attributes the peer may assert (they bind `principal.<name>` in row filters of
    /// grants to its callers). An assertion carrying any other attribute is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Mutual TLS: when given, the peer's calls must come over a connection whose client
    /// certificate is one of these (by SHA-256 fingerprint or common name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<ClientCertificate>,
    /// Who the peer is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// An agency (ministry, province, department, ward office…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Official name.
    pub name: Text,
    /// Electronic code of the agency this one belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<AgencyCode>,
}

/// A purpose of processing, with its legal basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// What the data is used for.
    pub description: Text,
    /// The law, decree or decision that allows it (e.g. `Nghị định 278/2025/NĐ-CP`).
    #[schemars(length(min = 1))]
    pub legal_basis: String,
}

/// A value of a principal attribute, bound as a typed literal into row filters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A text value. Codes are text: `"00070"`, not `70`.
    String(String),
    /// An integer value.
    Integer(i64),
    /// A boolean value.
    Boolean(bool),
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => write!(f, "{s:?}"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// An official or a service that may query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Electronic code of the agency the principal belongs to.
    pub agency: AgencyCode,
    /// Free-form roles that grants may select on (e.g. `one-stop-officer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Attributes bound into row filters as `principal.<name>` (e.g. `ward: "00070"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// How the principal proves who it is. Never a secret in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// Client certificates (mutual TLS) that identify the principal to the Flight SQL server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<ClientCertificate>,
    /// Who this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// A stored credential: a salted hash, or the name of an environment variable holding the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Credential {
    /// An Argon2 hash in PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Argon2(String),
    /// The name of an environment variable that holds the secret when the node starts.
    Env(String),
}

/// A client certificate that identifies a principal. The server sees only certificates that chain
/// to the client CA it was started with (`lienthong serve --tls-client-ca`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientCertificate {
    /// The common name (CN) of the certificate's subject, exactly.
    CommonName(#[schemars(length(min = 1))] String),
    /// The SHA-256 fingerprint of the certificate (DER): 64 hex digits, colons allowed.
    Sha256(String),
}

impl ClientCertificate {
    /// The fingerprint as 64 lower-case hex digits, if this is a fingerprint.
    pub fn fingerprint(&self) -> Option<String> {
        match self {
            Self::Sha256(text) => Some(
                text.chars()
                    .filter(|c| *c != ':')
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ),
            Self::CommonName(_) => None,
        }
    }
}

/// An identity provider whose JSON Web Tokens (RFC 7519) are accepted as bearer tokens. A token
/// is accepted when its signature verifies with one of `keys` (RS*, PS*, ES256/384 or EdDSA; never
/// a shared-secret algorithm), `iss` is `issuer`, `aud` names `audience`, it carries `exp` and has
/// not expired, and the principal claim names a declared principal this issuer may vouch for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIssuer {
    /// The `iss` claim of the issuer's tokens, exactly (e.g. `https://sso.quangninh.gov.vn/realms/egov`).
    #[schemars(length(min = 1))]
    pub issuer: String,
    /// The audience this node accepts tokens for: the `aud` claim must be or contain it.
    #[schemars(length(min = 1))]
    pub audience: String,
    /// Files with the issuer's public keys, relative to the catalog file: PEM public keys (RSA,
    /// EC P-256/P-384, Ed25519) or a JWK set (`.json`). More than one during a key rollover.
    #[schemars(length(min = 1))]
    pub keys: Vec<String>,
    /// The claim whose value is the principal id; `sub` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_claim: Option<String>,
    /// The principals this issuer may vouch for; any declared principal when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// What this issuer is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

impl TokenIssuer {
    /// The claim that names the principal.
    pub fn principal_claim(&self) -> &str {
        self.principal_claim.as_deref().unwrap_or("sub")
    }
}

/// The kind of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Parquet files on an object store or the local file system.
    Parquet,
    /// CSV files (with a header row) on an object store or the local file system.
    Csv,
    /// Newline-delimited JSON files on an object store or the local file system.
    Json,
    /// A SQLite database file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
    /// Another lienthong node, over Flight SQL: the owner's node, which answers under its own
    /// policy for the caller this node asserts.
    Node,
}

impl SourceKind {
    /// Whether tables of this kind are files found under a URL (`location` names them).
    pub fn is_files(self) -> bool {
        matches!(self, Self::Parquet | Self::Csv | Self::Json)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parquet => "parquet",
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Node => "node",
        })
    }
}

/// Where data lives. Which fields apply depends on `kind`:
/// files (`parquet`, `csv`, `json`) take `url` and `options`; `sqlite` takes `path`;
/// `postgres` takes `connection`; `node` takes `url`, `node`, `public_key` and optionally
/// `attributes` and `tls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The kind of source.
    pub kind: SourceKind,
    /// Files: a directory URL (`file://`, `s3://`, `gs://`, `az://`) or a path relative to the
    /// catalog file. A node: `grpc://host:port` or `grpc+tls://host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// SQLite: the database file, relative to the catalog file unless absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// PostgreSQL: how to connect. The password comes from an environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<PostgresConnection>,
    /// Object-store options (e.g. `aws_region`, `aws_endpoint`); secret options must be given as
    /// `{ env: VAR }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, OptionValue>,
    /// A node: its name (the audience of this node's assertions; its `node.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A node: its pinned public key (`ed25519:…`, as `lienthong node-key` prints it). The node
    /// signs its acceptance of each call; an answer not signed with this key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// A node: the caller's attributes that travel in the assertion (the owner binds them in its
    /// row filters); no attribute travels unless listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// A node at a `grpc+tls://` URL: the CA that signs its certificate and, for mutual TLS, this
    /// node's client certificate and key (PEM files, relative to the catalog file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<NodeTls>,
    /// How long a fetched remote or relational schema stays cached, in seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_cache_ttl_seconds: Option<u64>,
    /// What the source is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// TLS towards another node. Files are PEM, relative to the catalog file unless absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeTls {
    /// The CA certificate that signs the node's server certificate.
    pub ca: String,
    /// This node's client certificate (mutual TLS); given with `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The private key of `certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The name the server certificate is issued to, when it is not the URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A PostgreSQL connection. No password here: `password_env` names where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresConnection {
    /// Host name or address.
    pub host: String,
    /// Port (default 5432).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// `disable`, `prefer` or `require` (default `prefer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslmode: Option<SslMode>,
}

/// TLS use towards PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it.
    Prefer,
    /// Refuse to connect without TLS.
    Require,
}

/// An object-store option: a plain value, or an environment variable for anything secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OptionValue {
    /// A plain, non-secret value.
    Plain(String),
    /// A value read from the environment.
    Env(EnvRef),
}

/// A reference to an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRef {
    /// The variable's name.
    pub env: String,
}

/// A shared database, owned by one agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Electronic code of the owner agency: the one that decides who sees what.
    pub owner: AgencyCode,
    /// What the database holds.
    pub description: Text,
    /// Tables, keyed by table name.
    #[serde(default)]
    pub tables: BTreeMap<String, Table>,
}

/// Information class of a table (Decree 85/2016 art. 6, Data Law 60/2024).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Readable by anyone, including the anonymous `public` principal.
    Open,
    /// Shared with agencies through grants.
    Shared,
    /// Shared through grants; core or important data under stricter handling.
    Restricted,
    /// State secret: never served.
    Secret,
}

/// How several grants for the same caller and table combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The stricter rule wins: rows must pass every row filter, columns must be in every grant,
    /// and the strongest mask applies.
    #[default]
    Strict,
    /// Union of rows, and the least-masked version of each column.
    Union,
}

/// A table of a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Name of the source holding the table.
    pub source: String,
    /// File sources: file or directory under the source URL (e.g. `citizens.parquet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Relational and Flight SQL sources: the table's name there (default: the table's name here).
    /// For a remote lienthong node, `<database>.<table>` on that node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_name: Option<String>,
    /// Information class.
    pub classification: Classification,
    /// What the table holds.
    pub description: Text,
    /// How several grants for one caller combine (default `strict`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub combine: Combine,
    /// The columns, in order.
    #[schemars(length(min = 1))]
    pub columns: Vec<Column>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 64-bit floating point.
    Float64,
    /// true / false.
    Boolean,
    /// A calendar date.
    Date,
    /// A point in time (microseconds, UTC).
    Timestamp,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "string",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Float64 => "float64",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        })
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub data_type: ColumnType,
    /// What the column holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// Classification tags (`pii.basic`, `pii.sensitive`, `identifier.citizen`, …) that tag rules
    /// select on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Whether the column is (part of) the table's primary key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary_key: bool,
    /// The column this one refers to, as `<database>.<table>.<column>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
}

/// Who a grant or tag rule is for. Every field given must match (AND); within a list, any entry
/// matches (OR). At least one field must be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Principal ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// Agencies; an agency also selects its sub-units (agencies whose `parent` chain reaches it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<AgencyCode>,
    /// Roles; a principal matches when it has any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Attribute values the principal must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Callers arriving through these peer nodes (names in `peers`), as the peer asserts them:
    /// `agencies`, `roles` and `attributes` then match the asserted values. A selector without
    /// `peers` selects only this node's own principals, and one with `peers` only remote callers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}

impl Selector {
    /// Whether no condition is given (such a selector is rejected in grants).
    pub fn is_empty(&self) -> bool {
        self.principals.is_empty()
            && self.agencies.is_empty()
            && self.roles.is_empty()
            && self.attributes.is_empty()
            && self.peers.is_empty()
    }
}

/// How a column's value is transformed before the caller sees it. The mask is computed from the
/// raw value once; everything the caller writes (WHERE, JOIN, GROUP BY…) sees the masked value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(
    description = "One of `redact`, `nullify`, `pseudonym`, `{keep_last: N}`, `{generalize: year}`, `{generalize: province}`."
)]
pub enum Mask {
    /// Replace the value with a fixed marker (strings).
    Redact,
    /// Replace the value with NULL (any type).
    Nullify,
    /// A keyed pseudonym per consumer agency: the same value gives the same token inside one
    /// agency and unlinkable tokens across agencies (strings and integers).
    Pseudonym,
    /// Keep the last N characters, replace the others (strings).
    KeepLast(#[schemars(range(min = 1))] u32),
    /// Replace the value with a coarser one.
    Generalize(Generalization),
}

impl Mask {
    /// Short name of the mask kind, as written in the catalog.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Redact => "redact",
            Self::Nullify => "nullify",
            Self::Pseudonym => "pseudonym",
            Self::KeepLast(_) => "keep_last",
            Self::Generalize(Generalization::Year) => "generalize: year",
            Self::Generalize(Generalization::Province) => "generalize: province",
        }
    }
}

/// A generalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generalization {
    /// A date or timestamp becomes its year (dates).
    Year,
    /// A 5-digit ward code becomes the 2-digit code of its province (strings).
    Province,
}

/// Aggregate-only access: only aggregate queries are accepted, and groups smaller than the minimum
/// are suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateOnly {
    /// Smallest number of rows a group must have to be shown.
    #[schemars(range(min = 2))]
    pub min_group_size: u32,
    /// Columns whose `min` and `max` may be computed. A minimum or maximum is one row's value, so
    /// the owner names the columns where that reveals nothing (a generalised date, a code);
    /// on every other column `min` and `max` are refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub min_max: Vec<String>,
}

/// Lookup-only access: the caller may read a row only by naming its key. A query must pin every
/// `by` column to values it supplies itself (`= 'value'`, `IN ('a', 'b')`, or a parameter),
/// at most `max_keys` combinations per query; a scan, a range, a pattern or keys computed from
/// data are refused before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The key columns (granted by the grant).
    #[schemars(length(min = 1))]
    pub by: Vec<String>,
    /// Most key values (combinations, for several `by` columns) one query may name; default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_keys: Option<u32>,
    /// Columns the caller may only compare with values it supplies (`full_name = $1` answers
    /// true or false), never read: verification without disclosure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
}

impl Lookup {
    /// Default for [`Lookup::max_keys`].
    pub const DEFAULT_MAX_KEYS: u32 = 20;

    /// The cap on key values per query.
    pub fn max_keys(&self) -> u32 {
        self.max_keys.unwrap_or(Self::DEFAULT_MAX_KEYS)
    }
}

/// A grant from a table's owner agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The table, as `<database>.<table>`.
    pub table: String,
    /// Who receives the grant.
    pub to: Selector,
    /// Purposes for which the grant holds (codes from `purposes`).
    #[schemars(length(min = 1))]
    pub purposes: Vec<String>,
    /// Granted columns, or `["*"]` for all columns.
    #[schemars(length(min = 1))]
    pub columns: Vec<String>,
    /// First day the grant holds (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    /// Last day the grant holds (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// Rows the grant covers: a boolean SQL expression over the table's columns, where
    /// `principal.<attribute>` stands for the caller's attribute (bound as a typed literal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
    /// Masks by column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub masks: BTreeMap<String, Mask>,
    /// Only aggregates, with small groups suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_only: Option<AggregateOnly>,
    /// Only rows the caller names by key (see [`Lookup`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    /// Why the grant exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

impl Grant {
    /// Whether the grant covers every column of its table.
    pub fn all_columns(&self) -> bool {
        self.columns.iter().any(|c| c == "*")
    }
}

/// A volume quota: a ceiling on what the selected callers receive from the tables in scope.
///
/// Every limit holds on its own: a query that would go past any of them is refused (keys, before
/// it runs) or fails without releasing a row (rows, before the results are released). Days and
/// months are calendar days and months (UTC), as for grant validity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Who the quota holds for.
    pub to: Selector,
    /// Purposes it holds for (default: every purpose, counted together).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// Tables whose reads count, as `<database>.<table>` (default: every table). A query counts
    /// once however many of them it reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Whose counter a query is charged to: each selected principal's own (default), or one
    /// counter shared by everyone of the caller's agency.
    #[serde(default)]
    pub per: QuotaSubject,
    /// Result rows received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<QuotaLimits>,
    /// Distinct keys named in lookups of lookup-only tables in scope (a key looked up twice in a
    /// day counts once that day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<QuotaLimits>,
    /// Why the quota exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// Whose counter a quota charges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaSubject {
    /// Each principal has a counter of its own.
    #[default]
    Principal,
    /// One counter for the caller's agency (all its principals, local or arriving through peers).
    Agency,
}

impl QuotaSubject {
    /// `principal` or `agency`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Agency => "agency",
        }
    }
}

/// Ceilings per query, per day and per month; at least one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaLimits {
    /// Most per query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub query: Option<u64>,
    /// Most per calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub day: Option<u64>,
    /// Most per calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub month: Option<u64>,
}

/// A rule for every column carrying a tag, wherever it is: deny it, or mask it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    /// The tag the rule applies to (e.g. `pii.sensitive`).
    pub tag: String,
    /// Who the rule applies to (default: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Selector>,
    /// Who is exempt from the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<Selector>,
    /// Purposes the rule applies to (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// Hide tagged columns entirely: they do not exist for the caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny: bool,
    /// Mask tagged columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<Mask>,
    /// Why the rule exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}
