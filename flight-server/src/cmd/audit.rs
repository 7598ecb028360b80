//! `lienthong audit verify` and `audit trace`: check an audit log's hash chain and head, follow a
//! query across nodes; and `lienthong node-key`, which makes the key a node signs its calls with.

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

/// Prints every record of the query `correlation_id` (`<node>/<query id>`) in `logs`: the calling
/// node's query and completion, and each owner's records of the sub-queries it ran for it.
pub fn trace(correlation_id: &str, logs: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let (node, query_id) = correlation_id
        .split_once('/')
        .context("a correlation id is `<node>/<query id>`")?;
    let mut found = 0usize;
    for log in logs {
        let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
        let events: Vec<lienthong::audit::Event> = text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        // The owner's query ids for this correlation: their completions share them.
        let owned: Vec<&str> = events
            .iter()
            .filter(|e| e.via.as_ref().is_some_and(|v| v.correlation_id == correlation_id))
            .map(|e| e.query_id.as_str())
            .collect();
        for event in &events {
            let caller_side = event.node == node && event.query_id == query_id;
            let owner_side = !event.query_id.is_empty() && owned.contains(&event.query_id.as_str())
                || event.via.as_ref().is_some_and(|v| v.correlation_id == correlation_id);
            if !(caller_side || owner_side) {
                continue;
            }
            found += 1;
            let via = event
                .via
                .as_ref()
                .map(|v| format!(" via {}", v.node))
                .unwrap_or_default();
            let outcome = event
                .outcome
                .map(|o| format!("{o:?}").to_lowercase())
                .unwrap_or_default();
            let rows = event.rows.map(|r| format!(" rows={r}")).unwrap_or_default();
            lienthong_server::say!(
                "{} {} node={} {} principal={} agency={}{via} purpose={} {outcome}{rows}",
                log.display(),
                event.time,
                event.node,
                event.kind,
                event.principal,
                event.agency,
                event.purpose.as_deref().unwrap_or("-"),
            );
            for call in &event.remote_calls {
                let rows = call.rows.map(|r| format!(" rows={r}")).unwrap_or_default();
                lienthong_server::say!("    sent to {} sql_sha256={}{rows}", call.node, call.sql_sha256);
            }
        }
    }
    if found == 0 {
        lienthong_server::say!("no record of {correlation_id} in these logs");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a new node key pair's private key to `out` (never over an existing file; readable by
/// its owner only) and prints the public key.
pub fn node_key(out: &Path) -> anyhow::Result<ExitCode> {
    use std::io::Write;

    use anyhow::Context;
    let (private, public) = lienthong::node::generate_key()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .with_context(|| format!("creating {} (an existing key is never overwritten)", out.display()))?;
    file.write_all(private.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", out.display()))?;
    lienthong_server::say!("{public}");
    Ok(ExitCode::SUCCESS)
}
