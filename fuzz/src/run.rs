//! The differential run: each generated query as one principal on the governed engine and on the
//! principal's copy, the two outcomes judged, and every failure shrunk and written down.

use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Display, Formatter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use lienthong::datafusion::prelude::SessionContext;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, Error, OpenOptions};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::compare::{revealed, rows, values};
use crate::generate::{self, Model};
use crate::oracle;
use crate::sql::{Expr, Group, Query, Source};

/// The demo principals and the purpose each declares.
pub const PRINCIPALS: &[(&str, Option<&str>)] = &[
    ("public", None),
    ("ward-officer", Some("tthc")),
    ("land-officer", Some("land-management")),
    ("business-registrar", Some("business-registration")),
    ("inspector", Some("inspection")),
    ("statistician", Some("statistics")),
    ("population-owner", Some("data-stewardship")),
];

/// How long one side may take on one query before the query is set aside as too slow.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// What one side did with a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The rows, as sorted lines.
    Rows(Vec<String>),
    /// Refused before running (planning, policy).
    Refused(String),
    /// Failed while running.
    Failed(String),
    /// Took longer than the per-query timeout, or hit a resource limit.
    TooSlow,
}

impl Display for Outcome {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rows(rows) => write!(f, "{} rows", rows.len()),
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::Failed(e) => write!(f, "failed while running: {e}"),
            Self::TooSlow => f.write_str("too slow"),
        }
    }
}

/// Why a pair of outcomes is a failure of the barrier (or of the engine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Both answered, with different rows.
    WrongRows,
    /// The engine answered where the copy could not even plan the query.
    AnsweredWhereCopyFailed,
    /// The engine failed while running where the copy answered: whether it fails depends on rows
    /// the caller may not see.
    FailedOnHiddenRows,
    /// The engine's error names a value that only the raw data holds.
    Reveals(String),
    /// An internal error or a caught panic.
    Internal,
}

impl Display for Failure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongRows => f.write_str("wrong rows"),
            Self::AnsweredWhereCopyFailed => f.write_str("answered where the copy failed"),
            Self::FailedOnHiddenRows => f.write_str("failed while running where the copy answered"),
            Self::Reveals(value) => write!(f, "error reveals a hidden value ({} characters)", value.len()),
            Self::Internal => f.write_str("internal error or panic"),
        }
    }
}

/// The outcomes of one query and the judgement.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The governed engine's outcome.
    pub governed: Outcome,
    /// The copy's outcome (`None`: the query has no equivalent on the copy and must be refused).
    pub copy: Option<Outcome>,
    /// The query run on the copy.
    pub copy_sql: Option<String>,
    /// The failure, if the pair is one.
    pub failure: Option<Failure>,
}

/// One principal as the fuzzer drives it.
struct Principal {
    name: String,
    purpose: Option<String>,
    copy: SessionContext,
    /// The copy without the logical optimizer (see [`oracle::unoptimized`]).
    unoptimized: SessionContext,
    model: Model,
    /// Values of the raw data that the copy does not hold, and names of hidden columns.
    secrets: HashSet<String>,
    /// The minimum group size and the tables of an aggregate-only grant.
    aggregate_only: Option<(u64, &'static [&'static str])>,
}

/// The governed engine and, per principal, its copy.
pub struct Fuzzer {
    catalog: Catalog,
    principals: Vec<Principal>,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The seed every query derives from (with the principal and the query's index).
    pub seed: u64,
    /// Queries per principal at most.
    pub queries: usize,
    /// Time for the whole run.
    pub budget: Duration,
    /// Where minimised reproductions are written (`None`: not written).
    pub out: Option<PathBuf>,
}

/// Figures of one principal's run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Queries generated and run on both sides.
    pub tried: usize,
    /// Answered by both, with equal rows.
    pub answered: usize,
    /// Answered by the engine in an aggregate-only shape that the copy cannot express.
    pub unchecked: usize,
    /// Answered by the engine where the copy failed while running (see [`Failure`]).
    pub copy_failed: usize,
    /// Refused by the engine before running.
    pub refused: usize,
    /// Failed on both sides while running.
    pub failed_alike: usize,
    /// Set aside as too slow.
    pub too_slow: usize,
    /// Failures, minimised.
    pub failures: Vec<Found>,
}

/// A failure found by a run.
#[derive(Clone, Debug)]
pub struct Found {
    /// What failed.
    pub failure: Failure,
    /// The query's index in the run.
    pub index: usize,
    /// The generated query.
    pub sql: String,
    /// The smallest query found that fails the same way.
    pub minimised: String,
    /// The reproduction file, when written.
    pub file: Option<PathBuf>,
}

impl Fuzzer {
    /// Opens the demo catalog in `dir` (made by `lienthong generate`) with `secret` as the
    /// pseudonym secret, `today` as the day, an audit log at `audit`, and builds the copies of
    /// the named principals (every demo principal when `names` is empty).
    pub async fn open(dir: &Path, secret: &str, today: NaiveDate, audit: &Path, names: &[String]) -> Result<Self> {
        let catalog = Catalog::open_with(
            dir.join(lienthong_synth::CATALOG_FILE),
            OpenOptions {
                audit_path: Some(audit.to_owned()),
                pseudonym_secret: Some(PseudonymSecret::new(secret).map_err(|e| anyhow!("{e}"))?),
                today: Some(today),
                ..OpenOptions::default()
            },
        )?;
        let raw = oracle::raw_context(dir, secret).await?;
        let mut raw_values = HashSet::new();
        let mut raw_columns = HashSet::new();
        for (name, schema) in oracle::tables(&raw).await? {
            let batches = raw.sql(&format!("SELECT * FROM {name}")).await?.collect().await?;
            values(&batches, &mut raw_values)?;
            raw_columns.extend(schema.fields().iter().map(|f| f.name().clone()));
        }
        let mut principals = Vec::new();
        for (name, purpose) in PRINCIPALS {
            if !names.is_empty() && !names.iter().any(|n| n == name) {
                continue;
            }
            let copy = oracle::copy(&raw, dir, name).await?;
            let model = oracle::model(&copy, &raw).await?;
            let mut visible = HashSet::new();
            let mut visible_columns = HashSet::new();
            for (table, schema) in oracle::tables(&copy).await? {
                let batches = copy.sql(&format!("SELECT * FROM {table}")).await?.collect().await?;
                values(&batches, &mut visible)?;
                visible_columns.extend(schema.fields().iter().map(|f| f.name().clone()));
            }
            let mut secrets: HashSet<String> = raw_values.difference(&visible).cloned().collect();
            secrets.extend(raw_columns.difference(&visible_columns).cloned());
            principals.push(Principal {
                name: (*name).to_owned(),
                purpose: purpose.map(str::to_owned),
                unoptimized: oracle::unoptimized(&copy),
                copy,
                model,
                secrets,
                aggregate_only: oracle::aggregate_only(name),
            });
        }
        if principals.is_empty() {
            return Err(anyhow!("no demo principal among {names:?}"));
        }
        Ok(Self { catalog, principals })
    }

    /// The principals this fuzzer drives.
    pub fn principals(&self) -> Vec<&str> {
        self.principals.iter().map(|p| p.name.as_str()).collect()
    }

    fn principal(&self, name: &str) -> Result<&Principal> {
        self.principals
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| anyhow!("principal `{name}` is not driven by this run"))
    }

    /// Runs `sql` as `principal` on the engine and `copy_sql` on its copy, and judges the pair.
    pub async fn check(&self, principal: &str, sql: &str, copy_sql: Option<&str>) -> Result<Verdict> {
        let p = self.principal(principal)?;
        let (governed, _) = self.governed(p, sql).await?;
        self.judged(p, sql, governed, copy_sql).await
    }

    /// [`Fuzzer::check`] of a generated query. The copy runs the same query, except where the
    /// engine read a table of an aggregate-only grant: then the top-level aggregate gets the
    /// grant's minimum group size as `HAVING count(*) >= k`, and a query without one has no
    /// equivalent on the copy.
    pub async fn check_query(&self, principal: &str, query: &Query) -> Result<Verdict> {
        let p = self.principal(principal)?;
        let sql = query.to_string();
        let (governed, tables) = self.governed(p, &sql).await?;
        let copy_sql = match p.aggregate_only {
            // The tables the engine read; none when it planned nothing to read (a contradiction
            // in WHERE): then the ones the text names.
            Some((k, aggregate_only))
                if tables.iter().any(|t| aggregate_only.contains(&t.as_str()))
                    || (tables.is_empty() && aggregate_only.iter().any(|t| sql.contains(t))) =>
            {
                guarded(query, k, aggregate_only)
            }
            _ => Some(sql.clone()),
        };
        self.judged(p, &sql, governed, copy_sql.as_deref()).await
    }

    async fn judged(&self, p: &Principal, sql: &str, governed: Outcome, copy_sql: Option<&str>) -> Result<Verdict> {
        let copy = match copy_sql {
            Some(copy_sql) => {
                let mut copy = on_copy(&p.copy, copy_sql).await;
                // Where the two differ, the copy's other plan may agree with the engine: the
                // plain context's optimizer can skip a failing expression, or get an answer wrong
                // (DataFusion removes a sort on a grouping-set key it takes for a constant).
                let differs = match (&governed, &copy) {
                    (Outcome::Failed(_), Outcome::Rows(_)) | (Outcome::Rows(_), Outcome::Failed(_)) => true,
                    (Outcome::Rows(got), Outcome::Rows(want)) => got != want,
                    _ => false,
                };
                if differs {
                    let unoptimized = on_copy(&p.unoptimized, copy_sql).await;
                    let agrees = match (&governed, &unoptimized) {
                        (Outcome::Failed(_), Outcome::Failed(_)) => true,
                        (Outcome::Rows(got), Outcome::Rows(want)) => got == want,
                        _ => false,
                    };
                    if agrees {
                        copy = unoptimized;
                    }
                }
                Some(copy)
            }
            None => None,
        };
        let failure = judge(&governed, copy.as_ref(), sql, &p.secrets);
        Ok(Verdict {
            governed,
            copy,
            copy_sql: copy_sql.map(str::to_owned),
            failure,
        })
    }

    /// The engine's outcome, and the tables the query read.
    async fn governed(&self, p: &Principal, sql: &str) -> Result<(Outcome, Vec<String>)> {
        let session = self.catalog.session(&p.name, p.purpose.as_deref())?;
        let run = async {
            let stream = match session.sql(sql).await {
                Ok(stream) => stream,
                Err(e) => return Ok((governed_error(e, Outcome::Refused), Vec::new())),
            };
            let tables = stream.tables().to_vec();
            match stream.collect().await {
                Ok(batches) => Ok((Outcome::Rows(rows(&batches)?), tables)),
                Err(e) => Ok((governed_error(e, Outcome::Failed), tables)),
            }
        };
        match tokio::time::timeout(QUERY_TIMEOUT, run).await {
            Ok(outcome) => outcome,
            Err(_) => Ok((Outcome::TooSlow, Vec::new())),
        }
    }

    /// The generated query number `index` of `principal` under `seed`.
    pub fn generate(&self, principal: &str, seed: u64, index: usize) -> Result<Query> {
        let position = self
            .principals
            .iter()
            .position(|p| p.name == principal)
            .ok_or_else(|| anyhow!("principal `{principal}` is not driven by this run"))?;
        let p = &self.principals[position];
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((position as u64) << 40) ^ index as u64);
        let mut bytes = vec![0u8; 4096];
        rng.fill_bytes(&mut bytes);
        Ok(generate::query(&p.model, &bytes))
    }

    /// Runs `plan`: queries round-robin over the principals until each has had `plan.queries`
    /// or the budget is spent. Failures are minimised and, with `plan.out`, written as files.
    pub async fn run(&self, plan: &Plan) -> Result<BTreeMap<String, Tally>> {
        let started = Instant::now();
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        if let Some(out) = &plan.out {
            std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
        }
        'run: for index in 0..plan.queries {
            for p in &self.principals {
                if started.elapsed() >= plan.budget {
                    break 'run;
                }
                let query = self.generate(&p.name, plan.seed, index)?;
                let verdict = self.check_query(&p.name, &query).await?;
                let tally = tallies.entry(p.name.clone()).or_default();
                tally.tried += 1;
                match (&verdict.failure, &verdict.governed) {
                    (Some(failure), _) => {
                        let minimised = crate::shrink::minimise(self, &p.name, &query, failure).await?;
                        let mut found = Found {
                            failure: failure.clone(),
                            index,
                            sql: query.to_string(),
                            minimised: minimised.to_string(),
                            file: None,
                        };
                        if let Some(out) = &plan.out {
                            let check = self.check_query(&p.name, &minimised).await?;
                            let file = out.join(format!("{}-{}-{index}.sql", p.name, plan.seed));
                            std::fs::write(&file, crate::repro::render(&p.name, plan.seed, &found, &check))
                                .with_context(|| format!("{}", file.display()))?;
                            found.file = Some(file);
                        }
                        tally.failures.push(found);
                    }
                    (None, Outcome::Rows(_)) if verdict.copy.is_none() => tally.unchecked += 1,
                    (None, Outcome::Rows(_)) if matches!(verdict.copy, Some(Outcome::Failed(_))) => {
                        tally.copy_failed += 1
                    }
                    (None, Outcome::Rows(_)) => tally.answered += 1,
                    (None, Outcome::Refused(_)) => tally.refused += 1,
                    (None, Outcome::Failed(_)) => tally.failed_alike += 1,
                    (None, Outcome::TooSlow) => tally.too_slow += 1,
                }
            }
        }
        Ok(tallies)
    }
}

/// The governed engine's error as an outcome: limits set the query aside; everything else is
/// the caller's refusal or failure (an internal error is judged a failure by [`judge`]).
fn governed_error(error: Error, outcome: fn(String) -> Outcome) -> Outcome {
    match error {
        Error::Limit(_) | Error::Quota(_) => Outcome::TooSlow,
        Error::Internal(message) => outcome(format!("internal error: {message}")),
        other => outcome(other.to_string()),
    }
}

/// Runs `sql` on the copy, on a task of its own: plain DataFusion panics on some shapes, and a
/// panic of the copy is the copy's failure, not the fuzzer's end.
async fn on_copy(copy: &SessionContext, sql: &str) -> Outcome {
    let copy = copy.clone();
    let sql = sql.to_owned();
    let run = tokio::spawn(async move {
        let frame = match copy.sql(&sql).await {
            Ok(frame) => frame,
            Err(e) => return Outcome::Refused(e.to_string()),
        };
        match frame.collect().await {
            Ok(batches) => rows(&batches).map_or_else(|e| Outcome::Failed(e.to_string()), Outcome::Rows),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    });
    match tokio::time::timeout(QUERY_TIMEOUT, run).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::Failed(format!("the copy panicked: {e}")),
        Err(_) => Outcome::TooSlow,
    }
}

/// Judges a pair of outcomes (see the crate's documentation for the rules).
fn judge(governed: &Outcome, copy: Option<&Outcome>, sql: &str, secrets: &HashSet<String>) -> Option<Failure> {
    if let Outcome::Refused(e) | Outcome::Failed(e) = governed {
        if e.starts_with("internal error") {
            return Some(Failure::Internal);
        }
        let copy_error = match copy {
            Some(Outcome::Refused(c) | Outcome::Failed(c)) => c.as_str(),
            _ => "",
        };
        if let Some(value) = revealed(e, sql, copy_error, secrets) {
            return Some(Failure::Reveals(value.to_owned()));
        }
    }
    match (governed, copy) {
        (Outcome::TooSlow, _) | (_, Some(Outcome::TooSlow)) | (Outcome::Refused(_), _) => None,
        (Outcome::Rows(got), Some(Outcome::Rows(want))) => (got != want).then_some(Failure::WrongRows),
        // An aggregate-only shape the copy cannot express (the guard inside a set operation, a
        // DISTINCT, a derived table): counted as unchecked, not judged.
        (Outcome::Rows(_), None) => None,
        // The copy failed while running (both of its plans) where the engine answered: the
        // engine skipped work the copy did (an empty side of a set operation, a branch never
        // taken), or the copy met a bug of its own. Not a leak: counted, not judged.
        (Outcome::Rows(_), Some(Outcome::Failed(_))) => None,
        (Outcome::Rows(_), _) => Some(Failure::AnsweredWhereCopyFailed),
        (Outcome::Failed(_), Some(Outcome::Rows(_))) => Some(Failure::FailedOnHiddenRows),
        (Outcome::Failed(_), _) => None,
    }
}

/// `query` with `HAVING count(*) >= k` on its top-level aggregate, when that aggregate reads an
/// aggregate-only table directly (`None`: it has none; the guard then sits deeper, on an
/// aggregate the copy's SQL cannot reach with a `HAVING`).
fn guarded(query: &Query, k: u64, tables: &[&str]) -> Option<String> {
    let Query::Select(select) = query else { return None };
    let direct = select
        .from
        .iter()
        .any(|f| matches!(&f.source, Source::Table(name) if tables.contains(&name.as_str())));
    if !direct {
        return None;
    }
    let aggregates = select.items.iter().any(|i| matches!(i, Expr::Aggregate { .. }));
    if matches!(select.group, Group::None) && !aggregates {
        return None;
    }
    let mut guarded = select.clone();
    let guard = Expr::Atom(format!("(count(*) >= {k})"));
    guarded.having = Some(match guarded.having.take() {
        Some(having) => Expr::Binary(Box::new(having), "AND", Box::new(guard)),
        None => guard,
    });
    Some(Query::Select(guarded).to_string())
}
