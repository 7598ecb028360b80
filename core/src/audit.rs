//! The audit log: one JSON line per event, each carrying the hash of the one before.
//!
//! Every query leaves a `query` record written (and synced to disk) before any result leaves the
//! engine: accepted, denied or failed, with who, why, what was read and under which policies. An
//! accepted query is followed by a `completion` record with the rows returned, the duration and
//! how it ended: written at once, and on disk with the next synced record (or when the log is
//! dropped), since no result waits for it.
//!
//! Syncs are shared (group commit): a record is written under the log's lock, then whoever syncs
//! first makes every record written so far durable, so concurrent queries wait for one `fsync`
//! between them instead of one each. Record `n` holds `prev` (the hash of record `n - 1`) and `hash` (SHA-256 of `prev`
//! and the record's own fields), so an edited, inserted, reordered or deleted line breaks the
//! chain. A small `.head` file next to the log holds the last sequence number and hash: a log cut
//! short, even one that was then continued, no longer ends where the head says, and the engine
//! refuses to append to such a log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Longest SQL text a record keeps, in bytes (longer is cut, with a hash of the whole).
const MAX_SQL_BYTES: usize = 4 * 1024;

/// Longest error text a record keeps, in bytes.
const MAX_ERROR_BYTES: usize = 1024;

/// Most literal digests one query may leave (a query naming more distinct values is refused, so
/// that no lookup goes untraced and no record grows without bound).
pub(crate) const MAX_LITERALS: usize = 4_096;

/// Longest record, in bytes, with everything above at its largest.
const MAX_RECORD_BYTES: usize = MAX_SQL_BYTES + MAX_ERROR_BYTES + MAX_LITERALS * 36 + 64 * 1024;

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
    /// For a caller another node asserts: that node and the correlation id it audits under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
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
    /// Sub-queries sent to other nodes (what this node asked, and on completion what came back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_calls: Vec<RemoteCall>,
    /// Volume quotas charged: keys on query records, rows on completion records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<crate::quota::QuotaUse>,
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

/// The node a remote caller arrived through, as the owner node audits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    /// The peer node.
    pub node: String,
    /// The correlation id the peer audits the same query under.
    pub correlation_id: String,
}

/// A sub-query this node sent to another node, as the calling node audits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteCall {
    /// The owner node called.
    pub node: String,
    /// The correlation id (the same in the owner's record).
    pub correlation_id: String,
    /// SHA-256 (hex) of the SQL sent, as signed in the assertion.
    pub sql_sha256: String,
    /// Rows received (completion records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

#[derive(Debug)]
struct Tail {
    /// Shared with the syncs, which run outside the lock on the tail.
    file: Arc<File>,
    seq: u64,
    hash: String,
    /// Length of the log, in bytes, after this process's last look.
    len: u64,
}

/// An append-only, hash-chained audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Option<Tail>>,
    /// The last sequence number known to be on disk (taken while syncing, so that one sync at a
    /// time runs and those waiting behind it find their record already covered).
    synced: Mutex<u64>,
    /// Syncs made by this process.
    syncs: AtomicU64,
}

impl AuditLog {
    /// The log at `path`, opened on first write (its directory is created then).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            tail: Mutex::new(None),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and syncs it to disk (with every record written before it). An error
    /// here must stop the query.
    ///
    /// Several processes may share one log (a server and `lienthong query`, say): each append
    /// holds an exclusive lock on the file and first catches up with what the others wrote. An
    /// append that cannot finish (a full disk, a read-only directory) is rolled back, so the log
    /// stays verifiable and the next append, once the fault is gone, succeeds.
    pub fn append(&self, event: &Event) -> Result<()> {
        let seq = self.write(event)?;
        self.sync_through(seq)
    }

    /// Appends one event without waiting for the disk: it is synced with the next [`append`]
    /// (by any query, or any process sharing the log), or when the log is dropped. For records
    /// that nothing waits for (completions); what a crash of the machine (not of the process)
    /// can lose is then the completions written since the last sync, never a query record.
    ///
    /// [`append`]: AuditLog::append
    pub fn append_unsynced(&self, event: &Event) -> Result<()> {
        self.write(event).map(|_| ())
    }

    /// How many times this process has synced the log: a monitoring figure, below the number of
    /// records written since completions and concurrent queries share syncs.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    fn fail(&self, message: String) -> Error {
        Error::Audit {
            path: self.path.clone(),
            message,
        }
    }

    /// Syncs the log unless record `seq` is already on disk. One sync runs at a time; it covers
    /// every record written when it starts, so those queued behind it usually need none.
    fn sync_through(&self, seq: u64) -> Result<()> {
        let mut synced = self.synced.lock().map_err(|_| self.fail("poisoned lock".into()))?;
        if *synced >= seq {
            return Ok(());
        }
        let Some((written, file)) = self
            .tail
            .lock()
            .map_err(|_| self.fail("poisoned lock".into()))?
            .as_ref()
            .map(|t| (t.seq, Arc::clone(&t.file)))
        else {
            return Err(self.fail("the log was closed before the record was synced".into()));
        };
        self.syncs.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = file.sync_data() {
            // What is on disk is unknown now: the log is opened (and verified) again next time.
            if let Ok(mut tail) = self.tail.lock() {
                *tail = None;
            }
            return Err(self.fail(format!("cannot sync the log: {error}")));
        }
        *synced = written.max(seq);
        Ok(())
    }

    /// Writes one record (not synced) and gives its sequence number.
    fn write(&self, event: &Event) -> Result<u64> {
        let fail = |message: String| self.fail(message);
        let mut guard = self.tail.lock().map_err(|_| fail("poisoned lock".into()))?;
        if guard.is_none() {
            *guard = Some(self.open_tail().map_err(fail)?);
        }
        let Some(tail) = guard.as_mut() else {
            return Err(fail("not open".into()));
        };
        tail.file
            .lock()
            .map_err(|e| fail(format!("cannot lock the log: {e}")))?;
        let appended = self.append_locked(tail, event);
        let seq = tail.seq;
        let _ = tail.file.unlock();
        if appended.is_err() && tail.len != tail.file.metadata().map(|m| m.len()).unwrap_or(u64::MAX) {
            // Neither finished nor rolled back: open (and verify) the log again next time.
            *guard = None;
        }
        appended.map(|()| seq).map_err(fail)
    }

    /// The append itself, under the file lock.
    fn append_locked(&self, tail: &mut Tail, event: &Event) -> Result<(), String> {
        let len = tail.file.metadata().map_err(|e| e.to_string())?.len();
        if len != tail.len {
            // Another process appended since this one last did.
            let (seq, hash) = last_record(&self.path, len)?;
            (tail.seq, tail.hash, tail.len) = (seq, hash, len);
        }
        let seq = tail.seq + 1;
        let record = chain(&kept(event), seq, &tail.hash)?;
        let hash = record["hash"].as_str().unwrap_or_default().to_owned();
        let mut line = serde_json::to_string(&record).map_err(|e| e.to_string())?;
        line.push('\n');
        let written = (&*tail.file)
            .write_all(line.as_bytes())
            .and_then(|()| write_head(&self.path, seq, &hash));
        if let Err(error) = written {
            // Roll back to where the head still points (and make sure it still does).
            tail.file
                .set_len(tail.len)
                .and_then(|()| tail.file.sync_data())
                .map_err(|undo| format!("{error}; and the record could not be rolled back: {undo}"))?;
            if tail.seq > 0 {
                let _ = write_head(&self.path, tail.seq, &tail.hash);
            }
            return Err(error.to_string());
        }
        tail.seq = seq;
        tail.hash = hash;
        tail.len += line.len() as u64;
        Ok(())
    }

    /// Opens the log for appending after checking that it is intact and ends where the head says.
    fn open_tail(&self) -> Result<Tail, String> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| e.to_string())?;
        file.lock().map_err(|e| format!("cannot lock the log: {e}"))?;
        let opened = (|| -> Result<(u64, String, u64), String> {
            let len = file.metadata().map_err(|e| e.to_string())?.len();
            let (seq, hash) = if len > 0 {
                let report = verify(&self.path).map_err(|e| format!("refusing to append to a damaged log: {e}"))?;
                (report.records, report.last_hash)
            } else {
                if head_path(&self.path).exists() {
                    return Err("the log is empty but its head file records records (deleted log?)".into());
                }
                (0, GENESIS.to_owned())
            };
            Ok((seq, hash, len))
        })();
        let _ = file.unlock();
        let (seq, hash, len) = opened?;
        Ok(Tail {
            file: Arc::new(file),
            seq,
            hash,
            len,
        })
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Ok(Some(tail)) = self.tail.get_mut() {
            let _ = tail.file.sync_data();
        }
    }
}

/// The sequence number and hash of the last record of the log at `path` (`len` bytes long), as
/// another process left it: the record must be intact and the head must point to it.
fn last_record(path: &Path, len: u64) -> Result<(u64, String), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let window = len.min(MAX_RECORD_BYTES as u64 * 2);
    file.seek(SeekFrom::Start(len - window)).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(window).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.trim_end_matches('\n').rsplit('\n').next().unwrap_or_default();
    let record: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("the last record is damaged: {e}"))?;
    let seq = record
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("the last record has no sequence number")?;
    let hash = record
        .get("hash")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if digest(&record)? != hash {
        return Err("the last record's hash does not match its content".into());
    }
    let head = std::fs::read_to_string(head_path(path)).map_err(|e| format!("cannot read the head: {e}"))?;
    if head.trim_end() != format!("{seq} {hash}") {
        return Err("the head does not point to the last record".into());
    }
    Ok((seq, hash))
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

/// What the log keeps of `event`: the SQL (already redacted) and the error text (redacted here:
/// errors can quote values) cut to a bounded size.
fn kept(event: &Event) -> Event {
    let mut event = event.clone();
    event.sql = event.sql.map(|sql| bounded(&sql, MAX_SQL_BYTES));
    event.error = event
        .error
        .map(|error| bounded(&crate::redact::redact_error(&error), MAX_ERROR_BYTES));
    event
}

/// `text` cut to at most `max` bytes (on a character boundary), with the length and a hash of the
/// whole when cut, so that a huge query or error cannot make a huge record.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [cut: {} bytes in all, sha256 {}]",
        &text[..end],
        text.len(),
        hex(&Sha256::digest(text.as_bytes()))
    )
}

/// Records where the log ends: the head file (created if missing) rewritten in place, one small
/// write at its start, cut to length when the line got shorter (after a rollback). Opened by path
/// at every record: a head that was replaced or cannot be written fails the append.
fn write_head(log: &Path, seq: u64, hash: &str) -> std::io::Result<()> {
    let text = format!("{seq} {hash}\n");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(head_path(log))?;
    file.write_all(text.as_bytes())?;
    if file.metadata()?.len() > text.len() as u64 {
        file.set_len(text.len() as u64)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> Event {
        Event {
            kind: kind.into(),
            query_id: "q".into(),
            ..Event::default()
        }
    }

    #[test]
    fn records_written_while_a_sync_runs_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(AuditLog::new(dir.path().join("audit.jsonl")));
        log.append(&event("query")).unwrap();
        assert_eq!(log.syncs(), 1);
        // A completion waits for no sync: the next query record's sync covers it.
        log.append_unsynced(&event("completion")).unwrap();
        assert_eq!(log.syncs(), 1);
        // A sync is under way (its lock held) while two queries write their records.
        let running = log.synced.lock().unwrap();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || log.append(&event("query")))
            })
            .collect();
        while log.tail.lock().unwrap().as_ref().map(|t| t.seq) != Some(4) {
            std::thread::yield_now();
        }
        drop(running);
        for thread in waiting {
            thread.join().unwrap().unwrap();
        }
        assert_eq!(log.syncs(), 2, "one sync for both records");
        assert_eq!(verify(log.path()).unwrap().records, 4);
    }
}
