//! `lienthong-fuzz`: a seeded, time-budgeted differential campaign against the demo principals,
//! or the replay of reproduction files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use lienthong_fuzz::repro;
use lienthong_fuzz::run::{Fuzzer, Outcome, Plan};

/// The pseudonym secret both sides use: the copy computes pseudonyms from it independently.
const SECRET: &str = "lienthong-fuzz secret: not for production use";

#[derive(Parser)]
#[command(
    name = "lienthong-fuzz",
    about = "Differential fuzzing of lienthong's policy barrier"
)]
struct Cli {
    /// Demo data made by `lienthong generate` (default: generated into a temporary directory).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Citizens in the generated demo data (without --data).
    #[arg(long, global = true, default_value_t = 4_000)]
    citizens: u64,
    /// The day grants are judged on.
    #[arg(long, global = true, default_value = "2026-11-23")]
    today: NaiveDate,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate queries for each principal and compare the governed answers with the copies.
    Run {
        /// The seed of the campaign.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Queries per principal at most.
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
        /// Time for the whole run: seconds, or with a unit (90s, 10m, 2h).
        #[arg(long, default_value = "10m", value_parser = budget)]
        budget: Duration,
        /// Only these principals (repeatable; default: every demo principal).
        #[arg(long = "principal")]
        principals: Vec<String>,
        /// Where minimised reproduction files are written.
        #[arg(long, default_value = "fuzz-failures")]
        out: PathBuf,
    },
    /// Run reproduction files again; fails if any still fails.
    Replay {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn budget(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("not a duration: {text}"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("not a duration: {text} (use s, m or h)")),
    };
    Ok(Duration::from_secs(seconds))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Plain DataFusion (the copy) panics on a few shapes the engine refuses; the fuzzer catches
    // those panics and counts them as the copy's failures: one line each, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("panic (caught): {place}");
    }));
    match run(Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("lienthong-fuzz: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<bool> {
    let scratch = tempfile::Builder::new().prefix("lienthong-fuzz-").tempdir()?;
    let data = match &cli.data {
        Some(data) => data.clone(),
        None => {
            let out = scratch.path().join("data");
            eprintln!("generating demo data: {} citizens in {}", cli.citizens, out.display());
            let config = lienthong_synth::Config {
                out: out.clone(),
                citizens: cli.citizens,
                seed: lienthong_synth::DEFAULT_SEED,
            };
            lienthong_synth::generate(&config, &lienthong_synth::NoProgress).map_err(|e| anyhow!("{e}"))?;
            out
        }
    };
    let audit = scratch.path().join("audit.jsonl");
    match cli.command {
        Command::Run {
            seed,
            queries,
            budget,
            principals,
            out,
        } => {
            let fuzzer = Fuzzer::open(&data, SECRET, cli.today, &audit, &principals).await?;
            let plan = Plan {
                seed,
                queries,
                budget,
                out: Some(out.clone()),
            };
            let started = std::time::Instant::now();
            let tallies = fuzzer.run(&plan).await?;
            println!(
                "{:<20} {:>7} {:>9} {:>9} {:>11} {:>8} {:>12} {:>9} {:>9}",
                "principal",
                "tried",
                "answered",
                "unchecked",
                "copy failed",
                "refused",
                "failed alike",
                "too slow",
                "failures"
            );
            let mut failures = 0;
            for (principal, t) in &tallies {
                println!(
                    "{principal:<20} {:>7} {:>9} {:>9} {:>11} {:>8} {:>12} {:>9} {:>9}",
                    t.tried,
                    t.answered,
                    t.unchecked,
                    t.copy_failed,
                    t.refused,
                    t.failed_alike,
                    t.too_slow,
                    t.failures.len()
                );
                for found in &t.failures {
                    failures += 1;
                    let file = found.file.as_ref().map(|f| f.display().to_string()).unwrap_or_default();
                    println!("  {}: {file}\n    {}", found.failure, found.minimised);
                }
            }
            let tried: usize = tallies.values().map(|t| t.tried).sum();
            println!(
                "seed {seed}: {tried} queries in {:.0} s, {failures} failures{}",
                started.elapsed().as_secs_f64(),
                if failures > 0 {
                    format!(" (written to {})", out.display())
                } else {
                    String::new()
                }
            );
            audit_verifies(&audit)?;
            Ok(failures == 0)
        }
        Command::Replay { files } => {
            let mut repros = Vec::new();
            for file in &files {
                repros.push((file, repro::read(file)?));
            }
            let mut names: Vec<String> = repros.iter().map(|(_, r)| r.principal.clone()).collect();
            names.sort();
            names.dedup();
            let fuzzer = Fuzzer::open(&data, SECRET, cli.today, &audit, &names).await?;
            let mut all_pass = true;
            for (file, r) in repros {
                let verdict = fuzzer.check(&r.principal, &r.sql, r.copy_sql.as_deref()).await?;
                match &verdict.failure {
                    None => println!("pass  {}: governed {}", file.display(), verdict.governed),
                    Some(failure) => {
                        all_pass = false;
                        println!("FAIL  {}: {failure}; governed {}", file.display(), verdict.governed);
                        let show = |outcome: Option<&Outcome>| match outcome {
                            Some(Outcome::Rows(rows)) => {
                                rows.iter().take(5).cloned().collect::<Vec<_>>().join("\n        ")
                            }
                            Some(other) => other.to_string(),
                            None => "no equivalent".to_owned(),
                        };
                        println!("    governed: {}", show(Some(&verdict.governed)));
                        println!("    copy:     {}", show(verdict.copy.as_ref()));
                    }
                }
            }
            audit_verifies(&audit)?;
            Ok(all_pass)
        }
    }
}

fn audit_verifies(audit: &std::path::Path) -> Result<()> {
    let summary = lienthong::audit::verify(audit)
        .map_err(|e| anyhow!("{e}"))
        .context("the audit log")?;
    println!("audit log verifies: {summary:?}");
    Ok(())
}
