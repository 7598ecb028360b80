//! Volume quotas: how many result rows, and how many distinct looked-up keys, a principal or an
//! agency receives per query, per day and per month.
//!
//! Keys are charged when a query is accepted (they are known from its plan: the values it pins),
//! so a query naming more than is left is refused before it runs. Rows are charged when a query
//! ends: its results are held back until then, and released only once the charge is on disk, so a
//! query that would go past a limit fails without releasing any row (and never looks complete).
//!
//! The counters live in one small JSON file next to the audit log (`<audit>.quotas.json`),
//! rewritten whole (write, sync, rename) under an exclusive lock on `<audit>.quotas.lock` at each
//! charge: they survive restarts, and several processes sharing a log share its counters. Keys are
//! kept as keyed digests (the audit's literal key), never in clear. Only the current day's and
//! month's counters are kept.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;
use lienthong_spec::{Catalog as Spec, QuotaLimits, QuotaSubject};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::{Caller, selects};

/// A quota that holds for a caller, with the counter it charges.
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    id: String,
    /// `principal:<id>` (`principal:<peer>/<id>` for a caller arriving through a peer) or
    /// `agency:<code>`.
    subject: String,
    per: QuotaSubject,
    tables: Vec<String>,
    rows: Option<QuotaLimits>,
    keys: Option<QuotaLimits>,
}

impl Applied {
    /// Whether the quota limits looked-up keys.
    pub(crate) fn counts_keys(&self) -> bool {
        self.keys.is_some()
    }

    fn counts(&self, table: &str) -> bool {
        self.tables.is_empty() || self.tables.iter().any(|t| t == table)
    }
}

/// The quotas that select `caller` (acting for its purpose), whatever the tables.
pub(crate) fn for_caller(spec: &Spec, caller: &Caller<'_>, agency: &str) -> Vec<Applied> {
    spec.quotas
        .iter()
        .filter(|(_, q)| selects(spec, &q.to, caller))
        .filter(|(_, q)| q.purposes.is_empty() || caller.purpose.is_some_and(|p| q.purposes.iter().any(|x| x == p)))
        .map(|(id, q)| Applied {
            id: id.clone(),
            subject: match q.per {
                QuotaSubject::Principal => match caller.via {
                    Some(peer) => format!("principal:{peer}/{}", caller.id),
                    None => format!("principal:{}", caller.id),
                },
                QuotaSubject::Agency => format!("agency:{agency}"),
            },
            per: q.per,
            tables: q.tables.clone(),
            rows: q.rows,
            keys: q.keys,
        })
        .collect()
}

/// The quotas among `applied` that a query reading `tables` counts against.
pub(crate) fn for_query(applied: &[Applied], tables: &[String]) -> Vec<Applied> {
    applied
        .iter()
        .filter(|q| tables.iter().any(|t| q.counts(t)))
        .cloned()
        .collect()
}

/// What a quota took from a query, as the audit records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUse {
    /// The quota's id.
    pub quota: String,
    /// Keys charged (query records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    /// Rows charged (completion records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// One limit of one quota, as it stands for the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    /// The quota's id.
    pub quota: String,
    /// Whose counter: `principal` or `agency`.
    pub per: String,
    /// `rows` or `keys`.
    pub unit: String,
    /// `query`, `day` or `month`.
    pub window: String,
    /// The day (`2026-12-03`) or month (`2026-12`) counted; `None` for a per-query limit.
    pub period: Option<String>,
    /// The limit.
    pub limit: u64,
    /// Used in the period (0 for a per-query limit).
    pub used: u64,
    /// What is left.
    pub remaining: u64,
    /// The tables that count (empty: every table).
    pub tables: Vec<String>,
}

/// What [`QuotaBook::admit`] allows a query.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    /// Most rows the query may return, and the limit that sets it (for the error).
    pub rows: Option<(u64, String)>,
    /// The keys charged, for the audit.
    pub uses: Vec<QuotaUse>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    format: u32,
    /// By `<quota>\t<subject>\t<day|month>\t<period>`.
    counters: BTreeMap<String, Counter>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Counter {
    #[serde(default)]
    rows: u64,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    keys: BTreeSet<String>,
}

/// The counters of a node's quotas, on disk next to its audit log.
#[derive(Debug)]
pub(crate) struct QuotaBook {
    path: PathBuf,
    lock: Mutex<()>,
}

/// The windows a limit can have, with the period each counts on `day`.
fn periods(day: NaiveDate) -> [(&'static str, String); 2] {
    let text = day.format("%Y-%m-%d").to_string();
    [("day", text.clone()), ("month", text[..7].to_owned())]
}

fn counter_key(quota: &Applied, window: &str, period: &str) -> String {
    format!("{}\t{}\t{window}\t{period}", quota.id, quota.subject)
}

fn limit_of(limits: &QuotaLimits, window: &str) -> Option<u64> {
    match window {
        "query" => limits.query,
        "day" => limits.day,
        _ => limits.month,
    }
}

fn exhausted(quota: &Applied, message: String) -> Error {
    Error::Quota(format!(
        "quota `{}` ({} {}): {message}",
        quota.id,
        quota.per.name(),
        subject_name(quota)
    ))
}

fn subject_name(quota: &Applied) -> &str {
    quota.subject.split_once(':').map_or(quota.subject.as_str(), |(_, s)| s)
}

impl QuotaBook {
    /// The book kept next to the audit log at `audit`.
    pub(crate) fn beside(audit: &Path) -> Self {
        let mut name = audit.file_name().unwrap_or_default().to_os_string();
        name.push(".quotas.json");
        Self {
            path: audit.with_file_name(name),
            lock: Mutex::new(()),
        }
    }

    /// Checks a query against `applied` before it runs: its keys (`keys` by table, as digests)
    /// must fit every key limit, and every row limit must have something left. Charges the keys.
    pub(crate) fn admit(
        &self,
        applied: &[Applied],
        keys: &[(String, Vec<String>)],
        day: NaiveDate,
    ) -> Result<Admission> {
        if applied.is_empty() {
            return Ok(Admission::default());
        }
        self.update(day, |state| {
            let mut admission = Admission::default();
            let mut charges = Vec::new();
            for quota in applied {
                if let Some(limits) = &quota.keys {
                    let named: BTreeSet<&String> = keys
                        .iter()
                        .filter(|(table, _)| quota.counts(table))
                        .flat_map(|(_, k)| k)
                        .collect();
                    let count = named.len() as u64;
                    if let Some(max) = limits.query
                        && count > max
                    {
                        return Err(exhausted(
                            quota,
                            format!("the query names {count} keys, at most {max} per query"),
                        ));
                    }
                    for (window, period) in periods(day) {
                        let Some(max) = limit_of(limits, window) else { continue };
                        let key = counter_key(quota, window, &period);
                        let used = state.counters.get(&key).map(|c| &c.keys);
                        let new = named.iter().filter(|k| used.is_none_or(|u| !u.contains(**k))).count() as u64;
                        let before = used.map_or(0, |u| u.len() as u64);
                        if before + new > max {
                            return Err(exhausted(
                                quota,
                                format!(
                                    "{before} of {max} keys per {window} used ({period}); this query names {new} more"
                                ),
                            ));
                        }
                        charges.push((key, named.iter().map(|k| (*k).clone()).collect::<Vec<_>>()));
                    }
                    if count > 0 {
                        admission.uses.push(QuotaUse {
                            quota: quota.id.clone(),
                            keys: Some(count),
                            rows: None,
                        });
                    }
                }
                if let Some(limits) = &quota.rows {
                    let mut allow = limits
                        .query
                        .map(|max| (max, format!("quota `{}`: at most {max} rows per query", quota.id)));
                    for (window, period) in periods(day) {
                        let Some(max) = limit_of(limits, window) else { continue };
                        let used = state
                            .counters
                            .get(&counter_key(quota, window, &period))
                            .map_or(0, |c| c.rows);
                        let left = max.saturating_sub(used);
                        if left == 0 {
                            return Err(exhausted(quota, format!("all {max} rows per {window} used ({period})")));
                        }
                        if allow.as_ref().is_none_or(|(a, _)| left < *a) {
                            allow = Some((
                                left,
                                format!(
                                    "quota `{}`: {used} of {max} rows per {window} used ({period})",
                                    quota.id
                                ),
                            ));
                        }
                    }
                    if let Some((left, why)) = allow
                        && admission.rows.as_ref().is_none_or(|(a, _)| left < *a)
                    {
                        admission.rows = Some((left, why));
                    }
                }
            }
            let changed = !charges.iter().all(|(_, k)| k.is_empty());
            for (key, named) in charges {
                state.counters.entry(key).or_default().keys.extend(named);
            }
            Ok((admission, changed))
        })
    }

    /// Charges `rows` delivered by a query to every row limit of `applied`, or refuses if that
    /// would go past one (queries running side by side took what was left).
    pub(crate) fn charge_rows(&self, applied: &[Applied], rows: u64, day: NaiveDate) -> Result<Vec<QuotaUse>> {
        let counted: Vec<&Applied> = applied.iter().filter(|q| q.rows.is_some()).collect();
        if counted.is_empty() {
            return Ok(Vec::new());
        }
        self.update(day, |state| {
            let mut charges = Vec::new();
            for quota in &counted {
                let Some(limits) = &quota.rows else { continue };
                for (window, period) in periods(day) {
                    let Some(max) = limit_of(limits, window) else { continue };
                    let key = counter_key(quota, window, &period);
                    let used = state.counters.get(&key).map_or(0, |c| c.rows);
                    if used + rows > max {
                        return Err(exhausted(
                            quota,
                            format!("{used} of {max} rows per {window} used ({period}); the result has {rows}"),
                        ));
                    }
                    charges.push(key);
                }
            }
            for key in charges {
                state.counters.entry(key).or_default().rows += rows;
            }
            let uses = counted
                .iter()
                .map(|q| QuotaUse {
                    quota: q.id.clone(),
                    keys: None,
                    rows: Some(rows),
                })
                .collect();
            Ok((uses, rows > 0))
        })
    }

    /// Every limit of `applied` as it stands on `day`.
    pub(crate) fn status(&self, applied: &[Applied], day: NaiveDate) -> Result<Vec<QuotaStatus>> {
        let state = self.with_lock(|| self.read())?;
        let mut out = Vec::new();
        for quota in applied {
            for (unit, limits) in [("rows", &quota.rows), ("keys", &quota.keys)] {
                let Some(limits) = limits else { continue };
                let mut windows = vec![("query", None)];
                windows.extend(periods(day).map(|(w, p)| (w, Some(p))));
                for (window, period) in windows {
                    let Some(limit) = limit_of(limits, window) else {
                        continue;
                    };
                    let used = period.as_ref().map_or(0, |p| {
                        state
                            .counters
                            .get(&counter_key(quota, window, p))
                            .map_or(0, |c| if unit == "rows" { c.rows } else { c.keys.len() as u64 })
                    });
                    out.push(QuotaStatus {
                        quota: quota.id.clone(),
                        per: quota.per.name().to_owned(),
                        unit: unit.to_owned(),
                        window: window.to_owned(),
                        period,
                        limit,
                        used,
                        remaining: limit.saturating_sub(used),
                        tables: quota.tables.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Reads the counters, applies `change` and, if it says so, writes them back (durably) before
    /// returning its result; all under the process's and the file's lock. Counters of past days
    /// and months (before `day`'s) are dropped on the way.
    fn update<T>(&self, day: NaiveDate, change: impl FnOnce(&mut State) -> Result<(T, bool)>) -> Result<T> {
        self.with_lock(|| {
            let mut state = self.read()?;
            let (value, changed) = change(&mut state)?;
            if changed {
                self.write(&mut state, day)?;
            }
            Ok(value)
        })
    }

    fn with_lock<T>(&self, body: impl FnOnce() -> Result<T>) -> Result<T> {
        let _guard = self.lock.lock().map_err(|_| self.fail("poisoned lock".into()))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("lock"))
            .map_err(|e| self.fail(format!("cannot open the lock file: {e}")))?;
        lock.lock().map_err(|e| self.fail(format!("cannot lock: {e}")))?;
        let result = body();
        let _ = lock.unlock();
        result
    }

    fn read(&self) -> Result<State> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                self.fail(format!(
                    "the counters are damaged ({e}); refusing rather than resetting them"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(self.fail(e.to_string())),
        }
    }

    fn write(&self, state: &mut State, day: NaiveDate) -> Result<()> {
        state.format = 1;
        let current: Vec<String> = periods(day).into_iter().map(|(_, p)| p).collect();
        state
            .counters
            .retain(|k, _| k.rsplit('\t').next().is_some_and(|p| current.iter().any(|c| c == p)));
        let bytes = serde_json::to_vec(state).map_err(|e| self.fail(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        let written = (|| -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        written.map_err(|e| self.fail(format!("cannot write the counters: {e}")))
    }

    fn fail(&self, message: String) -> Error {
        Error::Audit {
            path: self.path.clone(),
            message,
        }
    }
}
