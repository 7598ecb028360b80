//! Integration tests of the catalog format: the published examples, the JSON Schema, and every
//! class of problem with its line and column.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests state their expectations

mod errors;
mod examples;
mod fuzz;
mod schema;
