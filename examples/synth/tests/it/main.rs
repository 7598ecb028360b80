//! The generator, checked on its own output: determinism, validity of every identifier and code,
//! foreign keys, family plausibility, and the demo catalog against the files it describes.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod data;
mod determinism;
mod files;
mod population;
mod registries;
