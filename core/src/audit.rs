//! The audit log: one JSON line per event, each carrying the hash of the one before.
//!
//! Every query leaves a `query` record written (and synced to disk) before any result leaves the
//! engine: accepted, denied or failed, with who, why, what was read and under which policies. An
//! accepted query is followed by a `completion` record with the rows returned, the duration and
//! how it ended. Record `n` holds `prev` (the hash of record `n - 1`) and `hash` (SHA-256 of `prev`
//! and the record's own fields), so an edited, inserted, reordered or deleted line breaks the
//! chain. A small `.head` file next to the log holds the last sequence number and hash: a log cut
//! short, even one that was then continued, no longer ends where the head says, and the engine
//! refuses to append to such a log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The hash that the first record points back to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened to a query, as the audit records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Planned and allowed; results follow.
    Accepted,
    /// Refused by policy.
    Denied,
    /// Invalid, or failed while planning or running.
    Failed,
    /// All results were delivered.
    Completed,
    /// The caller stopped reading before the end.
    Cancelled,
}

/// One audit event, as written (without its chain fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `query` or `completion`.
    pub kind: String,
    /// Query id, shared by a query and its completion.
    pub query_id: String,
    /// RFC 3339 time.
    pub time: String,
    /// The node's name.
    pub node: String,
    /// Principal id.
    pub principal: String,
    /// The principal's agency (empty for `public`).
    pub agency: String,
    /// Declared purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The SQL, with literals that could be personal data replaced by `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Keyed digests of the literals in the SQL, so that an owner can find the queries that named
    /// a given value (a citizen ID) without the log holding it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literal_digests: Vec<String>,
    /// Tables read (`database.table`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Columns read (`database.table.column`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Grants and tag rules applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Rows returned (completion records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Milliseconds from the query's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// What happened.
    pub outcome: Option<Outcome>,
    /// Why it was denied or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug)]
struct Tail {
    file: File,
    seq: u64,
    hash: String,
}

/// An append-only, hash-chained audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Option<Tail>>,
}

impl AuditLog {
    /// The log at `path`, opened on first write (its directory is created then).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            tail: Mutex::new(None),
        }
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and syncs it to disk. An error here must stop the query.
    pub fn append(&self, event: &Event) -> Result<()> {
        let fail = |message: String| Error::Audit {
            path: self.path.clone(),
            message,
        };
        let mut guard = self.tail.lock().map_err(|_| fail("poisoned lock".into()))?;
        if guard.is_none() {
            *guard = Some(self.open_tail().map_err(fail)?);
        }
        let Some(tail) = guard.as_mut() else {
            return Err(fail("not open".into()));
        };
        let seq = tail.seq + 1;
        let record = chain(event, seq, &tail.hash).map_err(fail)?;
        let hash = record["hash"].as_str().unwrap_or_default().to_owned();
        let mut line = serde_json::to_string(&record).map_err(|e| fail(e.to_string()))?;
        line.push('\n');
        tail.file
            .write_all(line.as_bytes())
            .and_then(|()| tail.file.sync_data())
            .map_err(|e| fail(e.to_string()))?;
        write_head(&self.path, seq, &hash).map_err(|e| fail(e.to_string()))?;
        tail.seq = seq;
        tail.hash = hash;
        Ok(())
    }

    /// Opens the log for appending after checking that it is intact and ends where the head says.
    fn open_tail(&self) -> Result<Tail, String> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let (seq, hash) = if self.path.exists() {
            let report = verify(&self.path).map_err(|e| format!("refusing to append to a damaged log: {e}"))?;
            (report.records, report.last_hash)
        } else {
            if head_path(&self.path).exists() {
                return Err("the log is missing but its head file exists (deleted log?)".into());
            }
            (0, GENESIS.to_owned())
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| e.to_string())?;
        Ok(Tail { file, seq, hash })
    }
}

/// The record for `event` at `seq`, chained to `prev`.
fn chain(event: &Event, seq: u64, prev: &str) -> Result<Map<String, Value>, String> {
    let Value::Object(fields) = serde_json::to_value(event).map_err(|e| e.to_string())? else {
        return Err("an event is a JSON object".into());
    };
    let mut record = Map::new();
    record.insert("seq".into(), seq.into());
    record.insert("prev".into(), prev.into());
    record.extend(fields);
    let hash = digest(&record)?;
    record.insert("hash".into(), hash.into());
    Ok(record)
}

/// SHA-256 of the record's canonical JSON (its fields in written order, without `hash`).
fn digest(record: &Map<String, Value>) -> Result<String, String> {
    let mut body = record.clone();
    body.remove("hash");
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn head_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".head");
    log.with_file_name(name)
}

fn write_head(log: &Path, seq: u64, hash: &str) -> std::io::Result<()> {
    let head = head_path(log);
    let tmp = head.with_extension("head.tmp");
    std::fs::write(&tmp, format!("{seq} {hash}\n"))?;
    std::fs::rename(&tmp, &head)
}

/// What [`verify`] found in an intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of records.
    pub records: u64,
    /// Hash of the last record.
    pub last_hash: String,
}

/// Where and how a log is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Broken {
    /// 1-based line of the first problem (the line after the last one for a cut log).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Checks the chain of the log at `path` and its head file.
pub fn verify(path: &Path) -> Result<VerifyReport, Broken> {
    let file = File::open(path).map_err(|e| Broken {
        line: 0,
        message: format!("cannot open {}: {e}", path.display()),
    })?;
    let mut prev = GENESIS.to_owned();
    let mut count = 0u64;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line_no = index as u64 + 1;
        let broken = |message: String| Broken { line: line_no, message };
        let line = line.map_err(|e| broken(e.to_string()))?;
        let record: Map<String, Value> =
            serde_json::from_str(&line).map_err(|e| broken(format!("not a JSON record: {e}")))?;
        let seq = record.get("seq").and_then(Value::as_u64);
        if seq != Some(line_no) {
            return Err(broken(format!(
                "sequence number {} where {line_no} was expected (record inserted, deleted or reordered)",
                seq.map_or("missing".into(), |s| s.to_string())
            )));
        }
        if record.get("prev").and_then(Value::as_str) != Some(prev.as_str()) {
            return Err(broken(
                "does not point to the record before it (record inserted, deleted or reordered)".into(),
            ));
        }
        let stated = record
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if digest(&record).map_err(&broken)? != stated {
            return Err(broken("its hash does not match its content (record edited)".into()));
        }
        prev = stated;
        count = line_no;
    }
    let Ok(head) = std::fs::read_to_string(head_path(path)) else {
        return Err(Broken {
            line: count + 1,
            message: "the head file that records where the log ends is missing".into(),
        });
    };
    {
        let mut parts = head.split_whitespace();
        let seq: Option<u64> = parts.next().and_then(|s| s.parse().ok());
        let hash = parts.next().unwrap_or_default();
        if seq != Some(count) || hash != prev {
            return Err(Broken {
                line: count + 1,
                message: format!(
                    "the log ends at record {count} but its head records {} (log cut short, or cut short and continued)",
                    seq.map_or("?".into(), |s| s.to_string()),
                ),
            });
        }
    }
    Ok(VerifyReport {
        records: count,
        last_hash: prev,
    })
}
