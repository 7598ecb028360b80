//! The `lienthong` command line: generate synthetic data, validate catalogs, run governed queries,
//! explain them, serve catalogs over Arrow Flight SQL, verify audit logs, run the demo.
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
    /// Run one SQL query as a principal, governed and audited, and print the results.
    ///
    /// Exits with status 3 when the policy refuses the query (or a quota is used up), 2 on other
    /// errors.
    Query(QueryArgs),
    /// Show the governed plan of a query (policy barriers, what reaches each source).
    Explain(QueryArgs),
    /// Show a principal's volume quotas for a purpose: each limit, what is used and what is left.
    Quota(QuotaArgs),
    /// Serve a catalog over Arrow Flight SQL (any Flight SQL client: ADBC, JDBC, pyarrow.flight).
    ///
    /// Clients authenticate with the handshake (principal id and secret) or a bearer token and
    /// declare their purpose in the `x-lienthong-purpose` header; without credentials they are
    /// `public`. Stops on SIGINT or SIGTERM; SIGHUP reloads the catalog file (the new policy holds
    /// for the requests after it; a file that does not validate leaves the running one).
    Serve(cmd::serve::ServeArgs),
    /// Work with audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Make a node key pair: the private key into a new file (for the catalog's `node.key`), the
    /// public key printed (for the catalogs of the nodes that pin it).
    NodeKey {
        /// Where to write the private key (PKCS#8 PEM); an existing file is not overwritten.
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check that an audit log is intact: exit status 0 if so, 1 with the first broken line if not.
    Verify {
        /// The audit log (`audit/audit.jsonl` next to the catalog by default).
        file: PathBuf,
    },
    /// Follow one query across nodes: every record of the calling node's query and of the
    /// sub-queries other nodes ran for it, by correlation id (`<node>/<query id>`).
    Trace {
        /// The correlation id, as the calling node's records list it under `remote_calls`.
        correlation_id: String,
        /// The audit logs to search (one per node).
        #[arg(long = "log", required = true)]
        logs: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The catalog file.
    #[arg(long)]
    catalog: PathBuf,
    /// The principal to act as (locally, no credential is asked: whoever holds the files holds the data).
    #[arg(long = "as", value_name = "PRINCIPAL", default_value = "public")]
    principal: String,
    /// The purpose of the query (required for every principal but `public`).
    #[arg(long)]
    purpose: Option<String>,
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = cmd::query::Format::Table)]
    format: cmd::query::Format,
    /// The SQL query.
    sql: String,
}

#[derive(Debug, Args)]
struct QuotaArgs {
    /// The catalog file.
    #[arg(long)]
    catalog: PathBuf,
    /// The principal.
    #[arg(long = "as", value_name = "PRINCIPAL")]
    principal: String,
    /// The purpose.
    #[arg(long)]
    purpose: Option<String>,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
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
    /// Stop after the tour instead of serving the demo catalog over Flight SQL.
    #[arg(long)]
    no_serve: bool,
    /// Run the demo as three agencies' nodes on loopback (population owner, land owner, the Hà
    /// Nội LGSP), each a `lienthong serve` process with its own catalog, key and audit log.
    #[arg(long)]
    federated: bool,
    #[command(flatten)]
    server: cmd::serve::ServerArgs,
}

impl QueryArgs {
    fn request(&self) -> cmd::query::Request<'_> {
        cmd::query::Request {
            catalog: &self.catalog,
            principal: &self.principal,
            purpose: self.purpose.as_deref(),
            sql: &self.sql,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The README test checks that the long commands it shows (the demo) parse, without running
    // them.
    if std::env::var_os("LIENTHONG_CHECK_ARGS").is_some() {
        return ExitCode::SUCCESS;
    }
    let result = match cli.command {
        Command::Generate(args) => cmd::generate::run(&args.out, args.dataset.citizens, args.dataset.seed, !cli.quiet)
            .map(|_| ExitCode::SUCCESS),
        Command::Validate { catalog } => cmd::validate::run(&catalog),
        Command::Demo(args) if args.federated => cmd::federated::run(
            &args.dir,
            args.dataset.citizens,
            args.dataset.seed,
            !cli.quiet,
            !args.no_serve,
        ),
        Command::Demo(args) => cmd::demo::run(
            &args.dir,
            args.dataset.citizens,
            args.dataset.seed,
            args.regenerate,
            !cli.quiet,
        )
        .and_then(|code| {
            if args.no_serve || code != ExitCode::SUCCESS {
                Ok(code)
            } else {
                cmd::demo::serve(&args.dir, args.dataset.seed, &args.server)
            }
        }),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::HashSecret => cmd::hash_secret::run(),
        Command::Query(args) => cmd::query::run(&args.request(), args.format),
        Command::Explain(args) => cmd::query::explain(&args.request()),
        Command::Quota(args) => cmd::query::quotas(&args.catalog, &args.principal, args.purpose.as_deref(), args.json),
        Command::Audit(AuditCommand::Verify { file }) => cmd::audit::verify(&file),
        Command::Audit(AuditCommand::Trace { correlation_id, logs }) => cmd::audit::trace(&correlation_id, &logs),
        Command::NodeKey { out } => cmd::audit::node_key(&out),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
