//! The fixture: demo data generated once, a `lienthong` Flight SQL server on a free loopback port
//! per test (stopped when the fixture drops), the same catalog opened in-process as the library
//! reference, and Flight SQL clients logged in as demo principals.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use arrow_flight::FlightInfo;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_server::flight::{Config, Server};
use tonic::transport::Channel;

pub type Client = FlightSqlServiceClient<Channel>;

/// The demo data (4 000 citizens), generated once per test binary.
pub fn demo_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("lienthong-flight-")
            .tempdir()
            .unwrap()
            .keep();
        let config = lienthong_synth::Config {
            out: dir.clone(),
            citizens: 4_000,
            seed: lienthong_synth::DEFAULT_SEED,
        };
        lienthong_synth::generate(&config, &lienthong_synth::NoProgress).unwrap();
        dir
    })
}

/// The demo principals' secrets.
pub fn secrets() -> BTreeMap<String, String> {
    let path = demo_dir().join(lienthong_synth::CREDENTIALS_FILE);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The catalog `file` (next to the demo data) with a fixed pseudonym secret and its own audit log.
pub fn open_catalog_file(file: &Path, audit: &Path) -> Catalog {
    Catalog::open_with(
        file,
        OpenOptions {
            audit_path: Some(audit.to_owned()),
            pseudonym_secret: Some(PseudonymSecret::new("flight test secret, not for production").unwrap()),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

/// A running server and what the test compares it with.
pub struct Fixture {
    pub addr: SocketAddr,
    /// The server's audit log.
    pub audit: PathBuf,
    /// The same catalog, in-process (its own audit log).
    pub library: Catalog,
    /// Has the server read its catalog file again (as SIGHUP does for `lienthong serve`).
    pub reload: std::sync::Arc<dyn Fn() -> anyhow::Result<()> + Send + Sync>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Fixture {
    /// A server with the default configuration.
    pub async fn start() -> Self {
        Self::with(Config::default()).await
    }

    /// A server with `config`.
    pub async fn with(config: Config) -> Self {
        Self::serving(&demo_dir().join(lienthong_synth::CATALOG_FILE), config).await
    }

    /// A server of the catalog `file` (next to the demo data) with `config`.
    pub async fn serving(file: &Path, config: Config) -> Self {
        let dir = tempfile::tempdir().unwrap().keep();
        let audit = dir.join("server-audit.jsonl");
        let server = Server::new(open_catalog_file(file, &audit), config).unwrap();
        let reload = std::sync::Arc::new(server.reloader());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            audit,
            library: open_catalog_file(file, &dir.join("library-audit.jsonl")),
            reload,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.done.take() {
            Some(done) => done.await?,
            None => Ok(()),
        }
    }

    /// A client with no credentials (the `public` principal).
    pub async fn anonymous(&self) -> Client {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        FlightSqlServiceClient::new(channel)
    }

    /// A client logged in as `principal` (demo secret) declaring `purpose`.
    pub async fn login(&self, principal: &str, purpose: Option<&str>) -> Client {
        let mut client = self.anonymous().await;
        let secret = secrets().remove(principal).unwrap_or_default();
        client.handshake(principal, &secret).await.unwrap();
        if let Some(purpose) = purpose {
            client.set_header("x-lienthong-purpose", purpose);
        }
        client
    }

    /// The audit records the server wrote so far.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The library's answer to `sql` as `principal` for `purpose`, as text (or its error).
    pub async fn library_answer(&self, principal: &str, purpose: Option<&str>, sql: &str) -> Result<String, String> {
        let session = self.library.session(principal, purpose).map_err(|e| e.to_string())?;
        let batches = session
            .sql(sql)
            .await
            .map_err(|e| e.to_string())?
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(pretty(&batches))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Every batch of every endpoint of `info`.
pub async fn fetch(client: &mut Client, info: FlightInfo) -> Result<Vec<RecordBatch>, tonic::Status> {
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.ok_or_else(|| tonic::Status::internal("no ticket"))?;
        let stream = client.do_get(ticket).await.map_err(status)?;
        batches.extend(stream.try_collect::<Vec<_>>().await.map_err(status)?);
    }
    Ok(batches)
}

/// Runs `sql` as a statement query.
pub async fn query(client: &mut Client, sql: &str) -> Result<Vec<RecordBatch>, tonic::Status> {
    let info = client.execute(sql.to_owned(), None).await.map_err(status)?;
    fetch(client, info).await
}

/// The gRPC status inside a Flight client error.
pub fn status(error: impl Into<arrow_flight::error::FlightError>) -> tonic::Status {
    match error.into() {
        arrow_flight::error::FlightError::Tonic(status) => *status,
        arrow_flight::error::FlightError::Arrow(arrow::error::ArrowError::ExternalError(e)) => {
            match e.downcast::<tonic::Status>() {
                Ok(status) => *status,
                Err(e) => tonic::Status::unknown(e.to_string()),
            }
        }
        other => tonic::Status::unknown(other.to_string()),
    }
}

/// Batches as an aligned text table (the form answers are compared in).
pub fn pretty(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}
