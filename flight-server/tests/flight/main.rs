//! `lienthong serve` through the Rust Flight SQL client: the protocol, the security edge and a
//! bounded load, each against a real server on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod load;
mod protocol;
mod security;
