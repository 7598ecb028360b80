//! # lienthong-server
//!
//! The edges of lienthong that talk to the outside world: the `lienthong` command line (this
//! crate's binary) and the Arrow Flight SQL service behind `lienthong serve`. Authentication
//! happens here; governance and audit live in the core crate.
//!
//! The library part is what the binary and the tests share: [`auth`] (secrets and sealed tokens),
//! [`flight`] (the Flight SQL service), [`output`] and [`progress`] (terminal output).

pub mod auth;
pub mod flight;
pub mod output;
pub mod progress;
