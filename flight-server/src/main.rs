//! The `lienthong` command line: generate synthetic data, validate catalogs, run the demo.
//!
//! Errors are printed as one readable message (no stack traces); the exit status is 0 on success,
//! 1 when a checked catalog is invalid, and 2 when the command could not do its job.

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// lienthong: share government databases safely, as governed federated SQL tables.
#[derive(Debug, Parser)]
#[command(name = "lienthong", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print no progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write synthetic data for the four shared databases, and a demo catalog describing it.
    Generate(GenerateArgs),
    /// Check a catalog file and list every problem with its file, line and column.
    ///
    /// Exits with status 0 only when the catalog is valid.
    Validate {
        /// The catalog file (YAML, or JSON when it ends in .json).
        catalog: PathBuf,
    },
    /// Generate the demo data once (into ./demo-data), then show what it holds and what to try.
    Demo(DemoArgs),
    /// Print the Argon2 hash of a secret read from standard input, for `credential: { argon2: … }`.
    HashSecret,
}

/// Size and seed of generated data.
#[derive(Debug, Args)]
struct Dataset {
    /// Number of citizens; every other table scales from it.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=200_000_000))]
    citizens: u64,
    /// Seed: the same seed and size always give the same bytes.
    #[arg(long, default_value_t = lienthong_synth::DEFAULT_SEED)]
    seed: u64,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Directory to write into (created if missing; generated files are replaced).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    dataset: Dataset,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Where the demo data lives.
    #[arg(long, default_value = "demo-data")]
    dir: PathBuf,
    /// Generate again even if the directory already holds demo data.
    #[arg(long)]
    regenerate: bool,
    #[command(flatten)]
    dataset: Dataset,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => cmd::generate::run(&args.out, args.dataset.citizens, args.dataset.seed, !cli.quiet)
            .map(|_| ExitCode::SUCCESS),
        Command::Validate { catalog } => cmd::validate::run(&catalog),
        Command::Demo(args) => cmd::demo::run(
            &args.dir,
            args.dataset.citizens,
            args.dataset.seed,
            args.regenerate,
            !cli.quiet,
        ),
        Command::HashSecret => cmd::hash_secret::run(),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
