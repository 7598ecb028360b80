//! Per-query limits and cancellation: a query over its limit fails (never a silently cut result),
//! and the audit says how each query ended.

use std::time::Duration;

use futures::StreamExt;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, Limits, OpenOptions};

use crate::common::{SECRET, as_, demo_dir, run, today};

fn with_limits(limits: Limits) -> (Catalog, std::path::PathBuf) {
    let audit = tempfile::tempdir().unwrap().keep().join("audit.jsonl");
    let catalog = Catalog::open_with(
        demo_dir().join(lienthong_synth::CATALOG_FILE),
        OpenOptions {
            audit_path: Some(audit.clone()),
            pseudonym_secret: Some(PseudonymSecret::new(SECRET).unwrap()),
            today: Some(today()),
            limits,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    (catalog, audit)
}

fn outcomes(audit: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn more_rows_than_allowed_fail_the_query() {
    let (catalog, audit) = with_limits(Limits {
        max_rows: Some(5),
        ..Limits::default()
    });
    let owner = as_(&catalog, "population-owner");
    let error = run(&owner, "SELECT citizen_id FROM population.citizens")
        .await
        .unwrap_err();
    assert!(error.contains("more than 5 rows"), "{error}");
    assert_eq!(
        run(&owner, "SELECT citizen_id FROM population.citizens LIMIT 5")
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        5
    );
    assert_eq!(outcomes(&audit), ["accepted", "failed", "accepted", "completed"]);
}

#[tokio::test]
async fn a_query_out_of_time_fails() {
    let (catalog, audit) = with_limits(Limits {
        timeout: Some(Duration::from_millis(1)),
        ..Limits::default()
    });
    let owner = as_(&catalog, "population-owner");
    let sql = "SELECT count(*) FROM population.citizens a JOIN population.citizens b ON a.sex = b.sex";
    let error = run(&owner, sql).await.unwrap_err();
    assert!(error.contains("out of time"), "{error}");
    assert_eq!(outcomes(&audit), ["accepted", "failed"]);
}

#[tokio::test]
async fn a_query_over_its_memory_fails_cleanly() {
    let (catalog, _) = with_limits(Limits {
        memory_bytes: Some(64 * 1024),
        ..Limits::default()
    });
    let owner = as_(&catalog, "population-owner");
    let sql = "SELECT full_name, array_agg(citizen_id) FROM population.citizens GROUP BY full_name";
    let error = run(&owner, sql).await.unwrap_err();
    assert!(error.contains("memory"), "{error}");
}

#[tokio::test]
async fn a_stream_dropped_early_is_recorded_as_cancelled() {
    let (catalog, audit) = with_limits(Limits::default());
    let owner = as_(&catalog, "population-owner");
    let mut stream = owner.sql("SELECT * FROM population.citizens").await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.num_rows() > 0);
    drop(stream);
    assert_eq!(outcomes(&audit), ["accepted", "cancelled"]);
}
