//! Federation: the demo scenarios asked at the Hà Nội LGSP node, whose population and land tables
//! are answered by two owner nodes (real Flight SQL servers on loopback, each with its own catalog,
//! key and audit log), against the same queries on one node holding every table, in the same run.
//! Also the rows and bytes that travel from the land owner to the LGSP for land planning, against
//! the rows the single-node plan reads.
//!
//! `cargo bench -p lienthong-benches --bench federation` (1 M citizens; `LIENTHONG_BENCH_CITIZENS`
//! to change).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lienthong::datafusion::arrow::array::RecordBatch;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_benches::{best_of_async as best_of, env_u64};
use lienthong_server::flight::remote::FlightTransport;
use lienthong_server::flight::{Config, Server};
use lienthong_synth::federated::{LAND_NODE, LGSP, POPULATION_NODE};
use lienthong_synth::{CATALOG_FILE, Config as SynthConfig, NoProgress, generate};

const SECRET: &str = "benchmark secret, not for production";

fn open(file: &std::path::Path, audit: &std::path::Path) -> Catalog {
    Catalog::open_with(
        file,
        OpenOptions {
            pseudonym_secret: Some(PseudonymSecret::new(SECRET).unwrap()),
            audit_path: Some(audit.to_owned()),
            transport: Some(Arc::new(FlightTransport::default())),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

async fn run(catalog: &Catalog, principal: &str, purpose: &str, sql: &str) -> Vec<RecordBatch> {
    catalog
        .session(principal, Some(purpose))
        .unwrap()
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

const PAPERLESS: &str = "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id, p.area_m2 FROM population.citizens c \
     JOIN land.rights r ON r.holder_citizen_id = c.citizen_id JOIN land.parcels p ON p.parcel_id = r.parcel_id";
const LAND_PLANNING: &str = "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders \
     FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code";

#[tokio::main]
async fn main() {
    let citizens = env_u64("LIENTHONG_BENCH_CITIZENS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    generate(
        &SynthConfig {
            out: data.to_owned(),
            citizens,
            seed: lienthong_synth::DEFAULT_SEED,
        },
        &NoProgress,
    )
    .unwrap();
    let keys: BTreeMap<String, (String, String)> = [LGSP, POPULATION_NODE, LAND_NODE]
        .iter()
        .map(|n| ((*n).to_owned(), lienthong::node::generate_key().unwrap()))
        .collect();
    let placeholder = [POPULATION_NODE, LAND_NODE]
        .map(|n| (n.to_owned(), "grpc://127.0.0.1:9".to_owned()))
        .into();
    lienthong_synth::federated::write(data, lienthong_synth::DEFAULT_SEED, &keys, &placeholder).unwrap();
    let nodes = data.join("nodes");
    let mut urls = BTreeMap::new();
    for owner in [POPULATION_NODE, LAND_NODE] {
        let catalog = open(
            &nodes.join(owner).join(CATALOG_FILE),
            &nodes.join(owner).join("audit.jsonl"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.insert(owner.to_owned(), format!("grpc://{}", listener.local_addr().unwrap()));
        let server = Server::new(catalog, Config::default()).unwrap();
        tokio::spawn(server.serve(listener, std::future::pending()));
    }
    lienthong_synth::federated::write(data, lienthong_synth::DEFAULT_SEED, &keys, &urls).unwrap();
    let lgsp = open(&nodes.join(LGSP).join(CATALOG_FILE), &data.join("lgsp-audit.jsonl"));
    let single = open(&data.join(CATALOG_FILE), &data.join("single-audit.jsonl"));

    println!("Federation, {citizens} citizens: three nodes on loopback vs one node, best of 5 (after a warm-up)");
    println!(
        "{:<40} {:>10} {:>10} {:>7} {:>9}",
        "", "3 nodes", "1 node", "ratio", "rows"
    );
    let cases = [
        (
            "paperless (ward officer, 3-way join)",
            "ward-officer",
            "tthc",
            PAPERLESS,
        ),
        (
            "land planning (join + group at owner)",
            "land-officer",
            "land-management",
            LAND_PLANNING,
        ),
    ];
    for (name, principal, purpose, sql) in cases {
        let federated = || run(&lgsp, principal, purpose, sql);
        let local = || run(&single, principal, purpose, sql);
        federated().await;
        local().await;
        let (f, f_batches) = best_of(5, federated).await;
        let (l, l_batches) = best_of(5, local).await;
        assert_eq!(rows(&f_batches), rows(&l_batches), "{name}: same answer size");
        println!(
            "{name:<40} {:>8.1}ms {:>8.1}ms {:>7.2} {:>9}",
            f.as_secs_f64() * 1e3,
            l.as_secs_f64() * 1e3,
            f.as_secs_f64() / l.as_secs_f64(),
            rows(&f_batches)
        );
    }

    // What travelled for land planning: the owner's answer (from the LGSP's audit), against what
    // the single node reads under the same policy.
    let answer = run(&lgsp, "land-officer", "land-management", LAND_PLANNING).await;
    let bytes: usize = answer.iter().map(RecordBatch::get_array_memory_size).sum();
    let log = std::fs::read_to_string(data.join("lgsp-audit.jsonl")).unwrap();
    let completion: serde_json::Value = log
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["kind"] == "completion" && r["principal"] == "land-officer")
        .unwrap();
    let moved: u64 = completion["remote_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rows"].as_u64().unwrap_or(0))
        .sum();
    let mut read = 0;
    for table in ["land.parcels", "land.rights"] {
        let count = run(
            &single,
            "land-officer",
            "land-management",
            &format!("SELECT count(*) FROM {table}"),
        )
        .await;
        let column = count[0].column(0);
        read += lienthong::datafusion::arrow::array::AsArray::as_primitive::<
            lienthong::datafusion::arrow::datatypes::Int64Type,
        >(column.as_ref())
        .value(0);
    }
    println!();
    println!(
        "land planning: {moved} rows ({bytes} bytes in Arrow) moved from {LAND_NODE} to {LGSP}, \
         in {} sub-query; the single-node plan reads {read} rows of land.parcels and land.rights",
        completion["remote_calls"].as_array().unwrap().len()
    );
}
