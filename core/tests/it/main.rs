//! Integration tests of the governed engine over real files, a real SQLite file and a real
//! PostgreSQL server.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod aggregate_only;
mod attacks;
mod audit;
mod common;
mod composition;
mod faults;
mod generated;
mod limits;
mod lookup;
mod object_stores;
mod policy;
mod postgres;
mod quota;
mod scenarios;
mod source_semantics;
mod sources;
mod sql_fuzz;
