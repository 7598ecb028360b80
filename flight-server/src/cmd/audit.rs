//! `lienthong audit verify`: check an audit log's hash chain and head.

use std::path::Path;
use std::process::ExitCode;

/// Verifies `file`; exit status 0 when intact, 1 when broken (with the line where it breaks).
pub fn verify(file: &Path) -> anyhow::Result<ExitCode> {
    match lienthong::audit::verify(file) {
        Ok(report) => {
            lienthong_server::say!("{}: intact, {} records", file.display(), report.records);
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            lienthong_server::say!("{}: BROKEN at {broken}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}
