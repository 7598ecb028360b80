//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod hash_secret;
pub mod validate;
