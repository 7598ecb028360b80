//! The error type of the catalog format crate.

use std::path::PathBuf;

use crate::diagnostic::Diagnostics;

/// Why a catalog could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read catalog {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The catalog was read but is not valid: every problem, with its line and column.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl Error {
    /// The problems found, when the file was read but is invalid.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Self::Invalid(diagnostics) => Some(diagnostics),
            Self::Io { .. } => None,
        }
    }
}

/// Result of catalog operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
