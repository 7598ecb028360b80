//! The Arrow Flight SQL service behind `lienthong serve`.
//!
//! The protocol lives here, the decisions in the core: this module authenticates the caller
//! ([`caller`]), turns Flight SQL commands into governed [`lienthong::Session`] calls
//! ([`service`]), and streams the answers back under the server's limits ([`limits`]). What a
//! caller may see, how rows are filtered and masked, and what is audited is the core's business.
//!
//! - [`caller`]: bearer tokens (sealed or JWT), client certificates, the basic-auth handshake, the
//!   purpose header.
//! - [`statement`]: tickets and prepared-statement handles (sealed, bound to the caller, capped).
//! - [`session`]: Flight session options (the purpose, carried in a re-issued bearer token).
//! - [`metadata`]: catalogs, schemas, tables, SQL info and type info, filtered to the caller.
//! - [`limits`]: concurrent queries, idle streams, cancellation when the client goes away.
//! - [`metrics`]: counters for the Prometheus endpoint.
//! - [`outer`]: the `FlightService` wrapper that adds `ListFlights` and `GetSchema`.
//! - [`remote`]: sub-queries to other nodes (the transport the core sends them through).
//! - [`wire`]: results travel as plain Arrow types (views become `Utf8`/`Binary`), compact.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use lienthong_server::flight::{Config, serve};
//! let catalog = lienthong::Catalog::open("demo-data/catalog.yaml")?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//! serve(catalog, Config::default(), listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod caller;
pub mod limits;
pub mod metadata;
pub mod metrics;
pub mod outer;
pub mod remote;
pub mod service;
pub mod session;
pub mod statement;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::auth::Sealer;
pub use outer::Outer;
pub use service::Service;

/// How the server runs. The defaults suit one node serving a few dozen clients.
#[derive(Debug)]
pub struct Config {
    /// How long a bearer token from the handshake stays valid.
    pub token_ttl: Duration,
    /// How long a ticket stays valid between GetFlightInfo and DoGet.
    pub ticket_ttl: Duration,
    /// How long an unused prepared statement stays valid.
    pub handle_ttl: Duration,
    /// Prepared statements one principal may hold open at once.
    pub max_handles_per_principal: usize,
    /// Queries running at once, in total.
    pub max_queries: usize,
    /// Queries running at once for one principal.
    pub max_queries_per_principal: usize,
    /// How long a query waits for a free slot before it is refused.
    pub queue_timeout: Duration,
    /// A result stream the client has not read from for this long is cancelled.
    pub idle_timeout: Duration,
    /// The largest gRPC message accepted (parameters, requests).
    pub max_message_bytes: usize,
    /// How long shutdown waits for running queries before cancelling them.
    pub shutdown_grace: Duration,
    /// Requests a minute for one principal (0: no limit).
    pub rate_per_minute: u32,
    /// Requests a minute for `public`, all anonymous callers together (0: no limit).
    pub public_rate_per_minute: u32,
    /// The key that seals tokens, tickets and handles.
    pub sealer: Sealer,
    /// TLS (and mutual TLS); plaintext when absent.
    pub tls: Option<Tls>,
}

/// The server's TLS identity, and the CA its clients' certificates must chain to, if any.
#[derive(Debug, Clone)]
pub struct Tls {
    /// PEM certificate chain of the server.
    pub cert: Vec<u8>,
    /// PEM private key of the server.
    pub key: Vec<u8>,
    /// PEM certificate(s) of the CA that signs client certificates: with it, clients present a
    /// certificate (mutual TLS), and the catalog's `certificates` map it to a principal.
    pub client_ca: Option<Vec<u8>>,
    /// With `client_ca`, still let clients in without a certificate (they authenticate with a
    /// token or as `public`).
    pub client_optional: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(8 * 3600),
            ticket_ttl: Duration::from_secs(300),
            handle_ttl: Duration::from_secs(3600),
            max_handles_per_principal: 64,
            max_queries: 64,
            max_queries_per_principal: 16,
            queue_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_message_bytes: 16 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(30),
            rate_per_minute: 1200,
            public_rate_per_minute: 120,
            sealer: Sealer::random(),
            tls: None,
        }
    }
}

/// A Flight SQL server over one catalog, before it starts serving.
#[derive(Debug)]
pub struct Server {
    service: Arc<Service>,
    grace: Duration,
    max_message: usize,
    tls: Option<Tls>,
}

impl Server {
    /// A server for `catalog` with `config`. Fails when a key file of the catalog's token issuers
    /// cannot be used (the error names the catalog, the field and the file).
    pub fn new(catalog: lienthong::Catalog, config: Config) -> anyhow::Result<Self> {
        let grace = config.shutdown_grace;
        let max_message = config.max_message_bytes;
        let tls = config.tls.clone();
        let mutual = tls.as_ref().is_some_and(|t| t.client_ca.is_some());
        let service = Service::new(catalog, config)?;
        if service.maps_certificates() && !mutual {
            tracing::warn!("the catalog maps client certificates to principals, but no client CA is configured");
        }
        Ok(Self {
            service: Arc::new(service),
            grace,
            max_message,
            tls,
        })
    }

    /// Reloads the catalog file into the running server (see [`Service::reload`]); callable from
    /// another task, e.g. on SIGHUP.
    pub fn reloader(&self) -> impl Fn() -> anyhow::Result<()> + Send + Sync + 'static {
        let service = Arc::clone(&self.service);
        move || service.reload()
    }

    /// The server's counters (for [`metrics::serve_metrics`]).
    pub fn metrics(&self) -> Arc<metrics::Metrics> {
        self.service.metrics()
    }

    /// Serves Flight SQL (and the gRPC health service) on `listener` until `shutdown` completes,
    /// then lets running queries finish for the grace period and cancels the rest.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let Self {
            service,
            grace,
            max_message,
            tls,
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter.set_serving::<FlightServiceServer<Outer>>().await;
        let flight = FlightServiceServer::new(Outer(Arc::clone(&service)))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message.max(4 * 1024 * 1024));
        let mut builder = Self::builder_for(tls)?;
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections; running queries get {grace:?}");
            reporter.set_not_serving::<FlightServiceServer<Outer>>().await;
            let _ = stopping_tx.send(());
        };
        let server = builder
            .add_service(health)
            .add_service(flight)
            .serve_with_incoming_shutdown(incoming, signal);
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => result?,
            () = async {
                if stopping_rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!("grace period over: cancelling the queries still running");
                service.cancel_all();
                // Cancelled streams end at once; give the server a moment to flush them.
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut server).await;
            }
        }
        Ok(())
    }

    fn builder_for(tls: Option<Tls>) -> anyhow::Result<tonic::transport::Server> {
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            let mut config = ServerTlsConfig::new().identity(Identity::from_pem(tls.cert, tls.key));
            if let Some(ca) = tls.client_ca {
                config = config
                    .client_ca_root(Certificate::from_pem(ca))
                    .client_auth_optional(tls.client_optional);
            }
            builder = builder.tls_config(config)?;
        }
        Ok(builder)
    }
}

/// Serves `catalog` with `config` on `listener` until `shutdown` completes (see [`Server::serve`]).
pub async fn serve(
    catalog: lienthong::Catalog,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    Server::new(catalog, config)?.serve(listener, shutdown).await
}
