//! Flight throughput and bytes on the wire: a large governed scan fetched from `lienthong serve`
//! against a bare arrow-flight server that reads the same columns from the Parquet file itself
//! (arrow-rs's reader, as a user would feed it) and streams them, both on loopback, in the same
//! run, decoded by the same client code. The time ratio is what governance, audit and planning
//! cost; the bytes ratio, what the governed stream sends beyond the plain Arrow of the columns.
//!
//! `cargo bench -p lienthong-benches --bench flight` (1 M citizens; `LIENTHONG_BENCH_CITIZENS`
//! to change).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest, HandshakeResponse,
    PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt};
use lienthong::datafusion::arrow::array::RecordBatch;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_benches::{best_of_async as best_of, env_u64};
use lienthong_server::flight::{Config, Server};
use lienthong_synth::{CATALOG_FILE, Config as SynthConfig, NoProgress, generate};
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The baseline: DoGet reads `columns` of the Parquet file at `path` and streams them, whatever
/// the ticket.
struct Bare {
    path: std::path::PathBuf,
    columns: Vec<&'static str>,
}

#[tonic::async_trait]
impl FlightService for Bare {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;
    type DoExchangeStream = Boxed<FlightData>;

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn list_flights(&self, _: Request<Criteria>) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_flight_info(&self, _: Request<FlightDescriptor>) -> Result<Response<FlightInfo>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn poll_flight_info(&self, _: Request<FlightDescriptor>) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn get_schema(&self, _: Request<FlightDescriptor>) -> Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn do_get(&self, _: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        use parquet::arrow::ProjectionMask;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let file = std::fs::File::open(&self.path).map_err(|e| Status::internal(e.to_string()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Status::internal(e.to_string()))?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), self.columns.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(8192)
            .build()
            .map_err(|e| Status::internal(e.to_string()))?;
        let schema = lienthong::datafusion::arrow::array::RecordBatchReader::schema(&reader);
        let (send, receive) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            for batch in reader {
                if send.blocking_send(batch.map_err(Into::into)).is_err() {
                    break;
                }
            }
        });
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(tokio_stream_of(receive))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }
    async fn do_put(&self, _: Request<Streaming<FlightData>>) -> Result<Response<Self::DoPutStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn do_action(&self, _: Request<Action>) -> Result<Response<Self::DoActionStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn list_actions(&self, _: Request<Empty>) -> Result<Response<Self::ListActionsStream>, Status> {
        Err(Status::unimplemented(""))
    }
    async fn do_exchange(&self, _: Request<Streaming<FlightData>>) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented(""))
    }
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// The batches a channel receives, as a stream.
fn tokio_stream_of(
    mut receive: tokio::sync::mpsc::Receiver<Result<RecordBatch, arrow_flight::error::FlightError>>,
) -> impl Stream<Item = Result<RecordBatch, arrow_flight::error::FlightError>> + Send {
    futures::stream::poll_fn(move |cx| receive.poll_recv(cx))
}

/// What a client received: rows, batches and bytes (FlightData headers and bodies).
#[derive(Clone, Copy, Debug, Default)]
struct Received {
    rows: usize,
    batches: usize,
    bytes: usize,
}

/// Fetches `ticket` over `channel` with `headers`, counting the bytes and decoding the batches
/// as a client would.
async fn fetch(channel: Channel, ticket: Ticket, headers: Vec<(&'static str, String)>) -> Received {
    let mut request = Request::new(ticket);
    for (name, value) in headers {
        request.metadata_mut().insert(name, value.parse().unwrap());
    }
    let stream = FlightServiceClient::new(channel)
        .do_get(request)
        .await
        .unwrap()
        .into_inner();
    let bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = {
        let bytes = Arc::clone(&bytes);
        stream.map_ok(move |data| {
            bytes.fetch_add(
                data.data_header.len() + data.data_body.len() + data.app_metadata.len(),
                std::sync::atomic::Ordering::Relaxed,
            );
            data
        })
    };
    let (rows, batches) =
        arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(counted.map_err(Into::into))
            .map(|b| b.unwrap())
            .fold((0, 0), |(rows, batches), b| async move {
                (rows + b.num_rows(), batches + 1)
            })
            .await;
    Received {
        rows,
        batches,
        bytes: bytes.load(std::sync::atomic::Ordering::Relaxed),
    }
}

#[tokio::main]
async fn main() {
    let citizens = env_u64("LIENTHONG_BENCH_CITIZENS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            out: dir.path().to_owned(),
            citizens,
            seed: lienthong_synth::DEFAULT_SEED,
        },
        &NoProgress,
    )
    .unwrap();
    let open = || {
        Catalog::open_with(
            dir.path().join(CATALOG_FILE),
            OpenOptions {
                pseudonym_secret: Some(PseudonymSecret::new("benchmark secret, not for production").unwrap()),
                audit_path: Some(dir.path().join("bench-audit.jsonl")),
                ..OpenOptions::default()
            },
        )
        .unwrap()
    };
    // Every citizen, as the owner's data steward: a large governed scan.
    let (principal, purpose) = ("population-owner", "data-stewardship");
    let sql = "SELECT citizen_id, full_name, date_of_birth, permanent_ward_code FROM population.citizens";

    let rows: usize = open()
        .session(principal, Some(purpose))
        .unwrap()
        .sql("SELECT count(*) FROM population.citizens")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| {
            use lienthong::datafusion::arrow::array::AsArray;
            b.column(0)
                .as_primitive::<lienthong::datafusion::arrow::datatypes::Int64Type>()
                .value(0) as usize
        })
        .sum();

    let (bare_listener, bare_url) = listen().await;
    let bare = FlightServiceServer::new(Bare {
        path: dir.path().join("population").join("citizens.parquet"),
        columns: vec!["citizen_id", "full_name", "date_of_birth", "permanent_ward_code"],
    })
    .max_encoding_message_size(usize::MAX);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(bare)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(bare_listener)),
    );
    let (listener, url) = listen().await;
    let server = Server::new(open(), Config::default()).expect("server");
    tokio::spawn(server.serve(listener, std::future::pending()));

    let secrets: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(lienthong_synth::CREDENTIALS_FILE)).unwrap())
            .unwrap();
    let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
    let mut client = FlightSqlServiceClient::new(channel.clone());
    client.handshake(principal, &secrets[principal]).await.unwrap();
    client.set_header("x-lienthong-purpose", purpose);
    let token = client.token().cloned().unwrap();
    let bare_channel = Channel::from_shared(bare_url).unwrap().connect().await.unwrap();

    let governed = || {
        let mut client = client.clone_for_bench(purpose);
        let (channel, token) = (channel.clone(), token.clone());
        async move {
            let info = client.execute(sql.to_owned(), None).await.unwrap();
            let ticket = info.endpoint[0].ticket.clone().unwrap();
            let headers = vec![
                ("authorization", format!("Bearer {token}")),
                ("x-lienthong-purpose", purpose.to_owned()),
            ];
            fetch(channel, ticket, headers).await
        }
    };
    let baseline = || fetch(bare_channel.clone(), Ticket::new("all"), Vec::new());
    governed().await;
    baseline().await;
    let (g, governed_received) = best_of(5, governed).await;
    let (b, bare_received) = best_of(5, baseline).await;
    assert_eq!((governed_received.rows, bare_received.rows), (rows, rows));
    println!("Flight throughput, {citizens} citizens, {rows} governed rows, best of 5 (after one warm-up run)");
    println!("{:<52} {:>10} {:>12} {:>12}", "", "time", "rows/s", "MB on wire");
    for (name, t, received) in [
        ("lienthong serve (plan, govern, audit, stream)", g, governed_received),
        ("bare arrow-flight (reads the Parquet itself)", b, bare_received),
    ] {
        println!(
            "{name:<52} {:>8.1}ms {:>12.0} {:>12.1}",
            t.as_secs_f64() * 1e3,
            rows as f64 / t.as_secs_f64(),
            received.bytes as f64 / 1e6
        );
    }
    println!(
        "ratio lienthong / bare: time {:.2}, bytes {:.2} ({} and {} batches)",
        g.as_secs_f64() / b.as_secs_f64(),
        governed_received.bytes as f64 / bare_received.bytes as f64,
        governed_received.batches,
        bare_received.batches
    );

    // Point lookups by citizen ID: over Flight (GetFlightInfo + DoGet, as a client does) and in
    // the same process through the library, interleaved.
    let lookups = env_u64("LIENTHONG_BENCH_LOOKUPS", 200) as usize;
    let library = open();
    let session = library.session(principal, Some(purpose)).unwrap();
    let ids = lienthong_benches::spread_citizen_ids(&session, lookups).await;
    let lookup =
        |id: &str| format!("SELECT full_name, permanent_ward_code FROM population.citizens WHERE citizen_id = '{id}'");
    let (mut over_flight, mut in_process) = (Vec::new(), Vec::new());
    let mut client = client.clone_for_bench(purpose);
    for id in &ids {
        let started = std::time::Instant::now();
        let info = client.execute(lookup(id), None).await.unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let rows = lienthong_benches::rows(
            &client
                .do_get(ticket)
                .await
                .unwrap()
                .try_collect::<Vec<_>>()
                .await
                .unwrap(),
        );
        assert_eq!(rows, 1);
        over_flight.push(started.elapsed());
        let started = std::time::Instant::now();
        let rows = lienthong_benches::rows(&session.sql(&lookup(id)).await.unwrap().collect().await.unwrap());
        assert_eq!(rows, 1);
        in_process.push(started.elapsed());
    }
    let p = lienthong_benches::percentile_ms;
    let (f50, f95, l50, l95) = (
        p(&mut over_flight, 0.5),
        p(&mut over_flight, 0.95),
        p(&mut in_process, 0.5),
        p(&mut in_process, 0.95),
    );
    println!("point lookups by citizen ID, {} interleaved", ids.len());
    println!(
        "{:<52} {:>8.2}ms p50 {:>8.2}ms p95",
        "over Flight SQL (GetFlightInfo + DoGet)", f50, f95
    );
    println!(
        "{:<52} {:>8.2}ms p50 {:>8.2}ms p95",
        "in process (the library)", l50, l95
    );
    println!("ratio Flight / in process: {:.2} p50", f50 / l50);
}

/// The Flight SQL client is not `Clone`; a new one on the same channel carries the same token.
trait CloneForBench {
    fn clone_for_bench(&self, purpose: &str) -> Self;
}

impl CloneForBench for FlightSqlServiceClient<Channel> {
    fn clone_for_bench(&self, purpose: &str) -> Self {
        let mut client = FlightSqlServiceClient::new_from_inner(self.inner().clone());
        if let Some(token) = self.token() {
            client.set_token(token.clone());
        }
        client.set_header("x-lienthong-purpose", purpose);
        client
    }
}
