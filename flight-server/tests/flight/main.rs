//! `lienthong serve` through the Rust Flight SQL client: the protocol and the security edge, each
//! against a real server on loopback. The load test is a binary of its own (`flight_load`), so
//! that its memory figures are its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod federation;
mod fuzz;
mod identity;
mod protocol;
mod security;
