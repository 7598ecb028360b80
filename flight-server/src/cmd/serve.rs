//! `lienthong serve`: the catalog over Arrow Flight SQL until SIGINT or SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lienthong_server::auth::Sealer;
use lienthong_server::flight::{self, Config, Tls};

/// How to serve.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The catalog file.
    #[arg(long)]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The server's address, TLS, limits and logs (shared with `lienthong demo`).
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// PEM certificate chain for TLS (with --tls-key); plaintext gRPC without.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM certificate of the CA that signs client certificates: clients must present one
    /// (mutual TLS), and the catalog's `certificates` map it to a principal.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// With --tls-client-ca, also let clients in without a certificate (they authenticate with a
    /// token, or are `public`).
    #[arg(long, requires = "tls_client_ca")]
    pub tls_client_optional: bool,
    /// Serve Prometheus metrics over HTTP on this address.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Environment variable holding the key (≥ 32 bytes) that seals tokens, so that several
    /// servers, or a restarted one, accept each other's tokens. A random key by default.
    #[arg(long, value_name = "VAR")]
    pub token_key_env: Option<String>,
    /// Queries running at once, in total.
    #[arg(long, default_value_t = 64)]
    pub max_queries: usize,
    /// Queries running at once for one principal.
    #[arg(long, default_value_t = 16)]
    pub max_queries_per_principal: usize,
    /// Seconds a result may sit unread before its query is cancelled.
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Largest gRPC message accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Seconds one query may run, from planning to its last batch (0: no limit).
    #[arg(long, default_value_t = 300)]
    pub query_timeout: u64,
    /// Memory one query's operators may use (sorts, joins, aggregates spill beyond it), in MiB
    /// (0: no limit).
    #[arg(long, default_value_t = 1024)]
    pub query_memory_mib: usize,
    /// Most rows one query may return; one more fails it (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub max_rows: u64,
    /// Requests a minute one principal may make (0: no limit).
    #[arg(long, default_value_t = 1200)]
    pub rate_limit: u32,
    /// Requests a minute all anonymous (`public`) callers together may make (0: no limit).
    #[arg(long, default_value_t = 120)]
    pub public_rate_limit: u32,
    /// Seconds given to running queries at shutdown before they are cancelled.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Log lines as JSON objects (for log collectors) instead of text.
    #[arg(long)]
    pub log_json: bool,
}

impl ServerArgs {
    /// The per-query limits these flags give (the server opens its catalog with them).
    pub fn limits(&self) -> lienthong::Limits {
        lienthong::Limits {
            max_rows: (self.max_rows > 0).then_some(self.max_rows),
            timeout: (self.query_timeout > 0).then(|| Duration::from_secs(self.query_timeout)),
            memory_bytes: (self.query_memory_mib > 0).then(|| self.query_memory_mib.saturating_mul(1024 * 1024)),
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        let sealer = match &self.token_key_env {
            None => Sealer::random(),
            Some(var) => {
                let key = std::env::var(var).with_context(|| format!("--token-key-env: ${var} is not set"))?;
                Sealer::from_secret(key.as_bytes()).map_err(|e| anyhow::anyhow!("--token-key-env: ${var}: {e}"))?
            }
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(Tls {
                cert: read(cert)?,
                key: read(key)?,
                client_ca: self.tls_client_ca.as_deref().map(read).transpose()?,
                client_optional: self.tls_client_optional,
            }),
            _ => None,
        };
        Ok(Config {
            max_queries: self.max_queries.max(1),
            max_queries_per_principal: self.max_queries_per_principal.max(1),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            max_message_bytes: self.max_message_bytes,
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            rate_per_minute: self.rate_limit,
            public_rate_per_minute: self.public_rate_limit,
            sealer,
            tls,
            ..Config::default()
        })
    }

    fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() { "grpc+tls" } else { "grpc" }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Stack of the server's threads.
const QUERY_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Serves `catalog` until a signal.
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let catalog = lienthong::Catalog::open_with(
        &args.catalog,
        lienthong::OpenOptions {
            limits: args.server.limits(),
            transport: Some(std::sync::Arc::new(
                lienthong_server::flight::remote::FlightTransport::default(),
            )),
            ..lienthong::OpenOptions::default()
        },
    )?;
    serve(catalog, &args.server, |_| {})
}

/// Serves an open catalog; `ready` is called with the bound address just before the line that
/// says where the server listens.
pub fn serve(
    catalog: lienthong::Catalog,
    args: &ServerArgs,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<ExitCode> {
    init_logs(args.log_json);
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Planning walks the caller's expressions recursively: give every thread room for the
        // deepest one the core accepts (the memory is reserved, not used, until needed).
        .thread_stack_size(QUERY_STACK_BYTES)
        .build()
        .context("cannot start the async runtime")?;
    let node = catalog.spec().node.name.clone();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr()?;
        let server = flight::Server::new(catalog, config)?;
        if let Some(metrics_addr) = args.metrics_addr {
            let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("cannot listen on {metrics_addr} for metrics"))?;
            lienthong_server::say!("metrics on http://{}/metrics", metrics_listener.local_addr()?);
            tokio::spawn(flight::metrics::serve_metrics(server.metrics(), metrics_listener));
        }
        reload_on_hangup(server.reloader())?;
        let shutdown = shutdown_signal()?;
        ready(addr);
        lienthong_server::say!(
            "lienthong serving {} on {}://{addr} (Ctrl-C to stop)",
            node,
            args.scheme()
        );
        tracing::info!(%addr, "serving");
        server.serve(listener, shutdown).await?;
        lienthong_server::say!("lienthong stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Reloads the catalog on every SIGHUP (`kill -HUP <pid>`): the new policy holds for the
/// requests that arrive after it; a file that does not validate leaves the running policy.
fn reload_on_hangup(reload: impl Fn() -> anyhow::Result<()> + Send + 'static) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                match reload() {
                    Ok(()) => {
                        tracing::info!("catalog reloaded");
                        lienthong_server::say!("catalog reloaded");
                    }
                    Err(error) => tracing::error!("catalog not reloaded, the running policy stays: {error:#}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(reload);
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM, listened for from the moment this is called: before the server
/// says it is serving, so that a signal sent right after that line is not lost.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
