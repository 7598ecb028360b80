//! Differential fuzzing of lienthong's policy barrier.
//!
//! Queries are generated over the demo schema (`lienthong generate`) and run twice for each demo
//! principal: on the governed engine, and on an independent, pre-filtered and pre-masked copy of
//! exactly what the principal may see, in plain DataFusion ([`oracle`]). The judgement
//! ([`run::Verdict`]):
//!
//! - both answer: the rows must be equal as multisets (floats to nine significant digits);
//! - the engine refuses before running (policy, plan): allowed, whatever the copy does;
//! - the engine fails while running where the copy answers, even with the copy planned
//!   without its logical optimizer (which may skip the failing work where the barrier keeps
//!   it): a failure (whether it fails depends on rows the caller may not see);
//! - the engine answers where the copy cannot plan the query: a failure; where the copy fails
//!   while running (with both plans), the engine skipped work the copy did: counted, not judged;
//! - any error of the engine that shows a value only the raw data holds (or the name of a
//!   hidden column), or an internal error or caught panic: a failure.
//!
//! For an aggregate-only principal the copy runs the same query with the grant's minimum group
//! size as `HAVING count(*) >= k` on a top-level aggregate; an answer in a shape the copy cannot
//! express that way (the guard inside a set operation, a `DISTINCT` or a derived table) is
//! counted as *unchecked*, not judged.
//!
//! Every failure is minimised ([`shrink`]) and written as a reproduction file ([`repro`]); the
//! `lienthong-fuzz` command runs a seeded, time-budgeted campaign.
//!
//! ```no_run
//! # async fn example(dir: &std::path::Path) -> anyhow::Result<()> {
//! use lienthong_fuzz::run::{Fuzzer, Plan};
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
//! let fuzzer = Fuzzer::open(dir, "a fuzzing secret, not for production", today, &dir.join("audit.jsonl"), &[]).await?;
//! let plan = Plan { seed: 7, queries: 100, budget: std::time::Duration::from_secs(60), out: None };
//! for (principal, tally) in fuzzer.run(&plan).await? {
//!     println!("{principal}: {} tried, {} failures", tally.tried, tally.failures.len());
//! }
//! # Ok(()) }
//! ```

pub mod compare;
pub mod generate;
pub mod oracle;
pub mod repro;
pub mod run;
mod shapes;
pub mod shrink;
pub mod sql;

pub use run::{Failure, Fuzzer, Plan, Tally, Verdict};
