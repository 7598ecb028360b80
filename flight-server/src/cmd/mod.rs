//! One module per subcommand.

pub mod audit;
pub mod demo;
pub mod federated;
pub mod generate;
pub mod hash_secret;
pub mod query;
pub mod serve;
pub mod tour;
pub mod validate;
