//! `lienthong validate`: every problem of a catalog, with file, line and column; then the token
//! issuers' key files, which the server would otherwise only read when it starts.

use std::path::Path;
use std::process::ExitCode;

/// Validates `catalog`; prints the problems on standard output, a summary on standard error.
pub fn run(catalog: &Path) -> anyhow::Result<ExitCode> {
    match lienthong_spec::load(catalog) {
        Ok(file) => {
            let c = &file.catalog;
            if let Err(error) = lienthong_server::auth::jwt::Issuers::load(c, catalog) {
                lienthong_server::say!("{error:#}");
                eprintln!("{}: invalid, 1 problem", catalog.display());
                return Ok(ExitCode::from(1));
            }
            let tables: usize = c.databases.values().map(|d| d.tables.len()).sum();
            lienthong_server::say!(
                "{}: valid ({} agencies, {} principals, {} sources, {} databases, {} tables, {} grants, {} tag rules, {} quota{})",
                catalog.display(),
                c.agencies.len(),
                c.principals.len(),
                c.sources.len(),
                c.databases.len(),
                tables,
                c.grants.len(),
                c.tag_rules.len(),
                c.quotas.len(),
                if c.quotas.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(lienthong_spec::Error::Invalid(diagnostics)) => {
            for diagnostic in diagnostics.iter() {
                lienthong_server::say!("{diagnostic}");
            }
            let n = diagnostics.len();
            eprintln!(
                "{}: invalid, {n} problem{}",
                catalog.display(),
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}
