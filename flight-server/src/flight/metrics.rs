//! What the server counts, and the Prometheus text endpoint that shows it.
//!
//! Counters say how much, never who or what: no principal, table or SQL appears in a label, so
//! the endpoint can be scraped by operators who may not see the audit log.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tonic::Status;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Labels = Vec<(&'static str, &'static str)>;

/// The server's counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    queries: Family<Labels, Counter>,
    denials: Family<Labels, Counter>,
    rows: Counter,
    bytes: Counter,
    running: Gauge,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lienthong");
        let queries = Family::<Labels, Counter>::default();
        let denials = Family::<Labels, Counter>::default();
        let rows = Counter::default();
        let bytes = Counter::default();
        let running = Gauge::default();
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 18));
        registry.register("queries", "Queries by outcome", queries.clone());
        registry.register("denials", "Refused calls by reason", denials.clone());
        registry.register("rows", "Result rows sent", rows.clone());
        registry.register("bytes", "Result bytes sent (Arrow IPC bodies)", bytes.clone());
        registry.register("running_queries", "Queries streaming results now", running.clone());
        registry.register(
            "query_duration_seconds",
            "Time from the start of DoGet to the end of its stream",
            latency.clone(),
        );
        Self {
            registry,
            queries,
            denials,
            rows,
            bytes,
            running,
            latency,
        }
    }
}

impl Metrics {
    /// A query ended with `outcome` (`completed`, `failed`, `cancelled`) after `elapsed`.
    pub fn query(&self, outcome: &'static str, elapsed: Duration) {
        self.queries.get_or_create(&vec![("outcome", outcome)]).inc();
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// A call was refused (`authentication`, `policy`, `ticket`, `busy`).
    pub fn denied(&self, reason: &'static str) {
        self.denials.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// `n` result rows were produced.
    pub fn rows(&self, n: usize) {
        self.rows.inc_by(n as u64);
    }

    /// `n` result bytes were sent.
    pub fn bytes(&self, n: usize) {
        self.bytes.inc_by(n as u64);
    }

    /// A query started (`+1`) or stopped (`-1`) streaming.
    pub fn running(&self, delta: i64) {
        self.running.inc_by(delta);
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A result stream that reports to the metrics: bytes as they go, the outcome and duration when
/// it ends (`completed`, `failed`) or is dropped before its end (`cancelled`).
pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
    started: Instant,
    outcome: &'static str,
}

impl<S> Metered<S> {
    /// Meters `inner` from `started`.
    pub fn new(inner: S, metrics: Arc<Metrics>, started: Instant) -> Self {
        metrics.running(1);
        Self {
            inner,
            metrics,
            started,
            outcome: "cancelled",
        }
    }
}

impl<S: Stream<Item = Result<arrow_flight::FlightData, Status>> + Unpin> Stream for Metered<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(data))) => self.metrics.bytes(data.data_body.len()),
            Poll::Ready(Some(Err(_))) => self.outcome = "failed",
            Poll::Ready(None) if self.outcome == "cancelled" => self.outcome = "completed",
            _ => {}
        }
        polled
    }
}

impl<S> Drop for Metered<S> {
    fn drop(&mut self) {
        self.metrics.running(-1);
        self.metrics.query(self.outcome, self.started.elapsed());
    }
}

/// Answers every HTTP request on `listener` with the metrics (the path is not looked at).
pub async fn serve_metrics(metrics: Arc<Metrics>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut request = [0u8; 4096];
            // Read the request head; its content does not matter.
            let _ = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut request)).await;
            let body = metrics.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
