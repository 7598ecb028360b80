//! Integration tests of the governed engine over real files, a real SQLite file and a real
//! PostgreSQL server.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod attacks;
mod audit;
mod common;
mod limits;
mod object_stores;
mod policy;
mod postgres;
mod reference;
mod scenarios;
mod sources;
