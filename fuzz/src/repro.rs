//! Reproduction files: the minimised query with what each side did, as an SQL file whose header
//! says who runs it. `lienthong-fuzz replay FILE` runs one again; the files under `fuzz/repros/`
//! (failures found and fixed) are replayed by the test suite.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::run::{Found, Verdict};

/// A reproduction read back: who runs it, the query, and the copy's query when it differs.
#[derive(Clone, Debug)]
pub struct Repro {
    /// The principal.
    pub principal: String,
    /// The query sent to the engine.
    pub sql: String,
    /// The query run on the copy (`None`: the engine must refuse).
    pub copy_sql: Option<String>,
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 400 {
        format!("{}…", line.chars().take(400).collect::<String>())
    } else {
        line
    }
}

/// The file's text for `found`, whose minimised query gave `verdict`.
pub fn render(principal: &str, seed: u64, found: &Found, verdict: &Verdict) -> String {
    let mut text = format!(
        "-- lienthong-fuzz reproduction: {}\n-- principal: {principal}\n-- found by: lienthong-fuzz run --seed {seed} (query {})\n",
        found.failure, found.index
    );
    text.push_str(&format!("-- governed: {}\n", one_line(&verdict.governed.to_string())));
    match &verdict.copy {
        Some(copy) => text.push_str(&format!("-- copy: {}\n", one_line(&copy.to_string()))),
        None => text.push_str("-- copy: none (the engine must refuse)\n"),
    }
    match verdict.copy_sql.as_deref() {
        Some(copy_sql) if copy_sql != found.minimised => text.push_str(&format!("-- copy sql: {copy_sql}\n")),
        Some(_) => {}
        None => text.push_str("-- copy sql: none\n"),
    }
    text.push_str(&format!(
        "-- generated: {}\n{};\n",
        one_line(&found.sql),
        found.minimised
    ));
    text
}

/// Reads a reproduction file.
pub fn read(path: &Path) -> Result<Repro> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut principal = None;
    let mut copy_sql = Some(None);
    let mut sql = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("-- principal:") {
            principal = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("-- copy sql:") {
            copy_sql = Some(Some(rest.trim().to_owned()).filter(|s| s != "none"));
            if rest.trim() == "none" {
                copy_sql = None;
            }
        } else if !line.starts_with("--") {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    let sql = sql.trim().trim_end_matches(';').trim().to_owned();
    let principal = principal.ok_or_else(|| anyhow!("{}: no `-- principal:` line", path.display()))?;
    if sql.is_empty() {
        return Err(anyhow!("{}: no query", path.display()));
    }
    let copy_sql = match copy_sql {
        Some(Some(copy)) => Some(copy),
        Some(None) => Some(sql.clone()),
        None => None,
    };
    Ok(Repro {
        principal,
        sql,
        copy_sql,
    })
}
