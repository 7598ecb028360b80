//! Flight throughput: a large governed scan fetched from `lienthong serve` against a bare
//! arrow-flight server streaming the very same record batches from memory, both on loopback, in
//! the same run. The ratio is what governance, audit and planning cost over the wire.
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

/// The baseline: DoGet streams the batches it holds, whatever the ticket.
struct Bare {
    batches: Arc<Vec<RecordBatch>>,
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
        let batches = Arc::clone(&self.batches);
        let schema = batches[0].schema();
        let input = futures::stream::iter((0..batches.len()).map(move |i| Ok(batches[i].clone())));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(input)
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

/// Rows and batches of a DoGet stream, decoded as a client would.
async fn drain(stream: impl Stream<Item = Result<RecordBatch, arrow_flight::error::FlightError>>) -> (usize, usize) {
    stream
        .map(|b| b.unwrap())
        .fold((0, 0), |(rows, batches), b| async move {
            (rows + b.num_rows(), batches + 1)
        })
        .await
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

    let batches = open()
        .session(principal, Some(purpose))
        .unwrap()
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();

    let (bare_listener, bare_url) = listen().await;
    let bare = FlightServiceServer::new(Bare {
        batches: Arc::new(batches),
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
    let mut client = FlightSqlServiceClient::new(channel);
    client.handshake(principal, &secrets[principal]).await.unwrap();
    client.set_header("x-lienthong-purpose", purpose);
    let bare_channel = Channel::from_shared(bare_url).unwrap().connect().await.unwrap();

    let governed = || {
        let mut client = client.clone_for_bench();
        async move {
            let info = client.execute(sql.to_owned(), None).await.unwrap();
            let ticket = info.endpoint[0].ticket.clone().unwrap();
            drain(client.do_get(ticket).await.unwrap()).await
        }
    };
    let baseline = || {
        let mut client = FlightServiceClient::new(bare_channel.clone());
        async move {
            let stream = client.do_get(Ticket::new("all")).await.unwrap().into_inner();
            drain(arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(
                stream.map_err(Into::into),
            ))
            .await
        }
    };
    governed().await;
    baseline().await;
    let (g, (g_rows, batches)) = best_of(5, governed).await;
    let (b, (b_rows, _)) = best_of(5, baseline).await;
    assert_eq!((g_rows, b_rows), (rows, rows));
    println!("Flight throughput, {citizens} citizens, {rows} governed rows, best of 5 (after one warm-up run)");
    println!("{:<44} {:>10} {:>12}", "", "time", "rows/s");
    for (name, t) in [
        ("lienthong serve (plan, govern, audit, stream)", g),
        ("bare arrow-flight (same batches, memory)", b),
    ] {
        println!(
            "{name:<44} {:>8.1}ms {:>12.0}",
            t.as_secs_f64() * 1e3,
            rows as f64 / t.as_secs_f64()
        );
    }
    println!(
        "ratio lienthong / bare: {:.2} ({batches} batches)",
        g.as_secs_f64() / b.as_secs_f64()
    );
}

/// The Flight SQL client is not `Clone`; a new one on the same channel carries the same token.
trait CloneForBench {
    fn clone_for_bench(&self) -> Self;
}

impl CloneForBench for FlightSqlServiceClient<Channel> {
    fn clone_for_bench(&self) -> Self {
        let mut client = FlightSqlServiceClient::new_from_inner(self.inner().clone());
        if let Some(token) = self.token() {
            client.set_token(token.clone());
        }
        client.set_header("x-lienthong-purpose", "business-registration");
        client
    }
}
