//! A bounded load: 32 clients at once, each logged in as a demo principal, mixing the demo
//! workload for several rounds. No call may fail, every query must be audited, and the server's
//! memory must not grow from round to round. Alone in its process, so the memory is its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

#[path = "../flight/common.rs"]
#[allow(dead_code)] // the protocol tests use the rest of the fixture
mod common;

use common::{Fixture, query};

const CLIENTS: usize = 32;
const ROUNDS: usize = 8;

const WORKLOAD: &[(&str, Option<&str>, &str)] = &[
    (
        "ward-officer",
        Some("tthc"),
        "SELECT citizen_id, full_name, phone FROM population.citizens ORDER BY citizen_id LIMIT 50",
    ),
    (
        "business-registrar",
        Some("business-registration"),
        "SELECT enterprise_code, name, legal_representative_id FROM business.enterprises ORDER BY 1 LIMIT 50",
    ),
    (
        "statistician",
        Some("statistics"),
        "SELECT current_province_code, count(*) FROM population.citizens GROUP BY 1",
    ),
    (
        "land-officer",
        Some("land-management"),
        "SELECT p.parcel_id, r.holder_citizen_id FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id LIMIT 200",
    ),
    (
        "inspector",
        Some("inspection"),
        "SELECT personnel_no, citizen_id FROM civil_servants.personnel LIMIT 100",
    ),
    ("public", None, "SELECT * FROM reference.provinces"),
];

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_two_clients_mixing_the_demo_workload() {
    // No request-rate limit: this measures the server under load, not its rate limiter.
    let server = std::sync::Arc::new(
        Fixture::with(lienthong_server::flight::Config {
            rate_per_minute: 0,
            public_rate_per_minute: 0,
            ..lienthong_server::flight::Config::default()
        })
        .await,
    );
    let mut rss = Vec::new();
    let mut queries = 0usize;
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let server = std::sync::Arc::clone(&server);
            tasks.push(tokio::spawn(async move {
                let (principal, purpose, sql) = WORKLOAD[(client + round) % WORKLOAD.len()];
                let mut flight = if principal == "public" {
                    server.anonymous().await
                } else {
                    server.login(principal, purpose).await
                };
                let mut done = 0;
                for _ in 0..3 {
                    let batches = query(&mut flight, sql)
                        .await
                        .map_err(|e| format!("{principal}: {sql}: {e}"))?;
                    if batches.iter().map(|b| b.num_rows()).sum::<usize>() == 0 {
                        return Err(format!("{principal}: no rows for {sql}"));
                    }
                    done += 1;
                }
                Ok::<usize, String>(done)
            }));
        }
        for task in tasks {
            queries += task.await.unwrap().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss.push(rss_kib());
    }
    let records = server.audit_records();
    let accepted = records
        .iter()
        .filter(|r| r["kind"] == "query" && r["outcome"] == "accepted")
        .count();
    let completed = records
        .iter()
        .filter(|r| r["kind"] == "completion" && r["outcome"] == "completed")
        .count();
    assert_eq!(
        (accepted, completed),
        (queries, queries),
        "every query audited, before and after"
    );
    // Memory settles in the first half of the rounds (caches, and the allocator's arenas, which
    // grow in steps with how many of the 32 clients' queries happen to overlap, up to about half
    // again): the second half may reach the first half's high-water mark plus such a step, not
    // keep growing. A leak of a megabyte a query would pass it within the rounds.
    let settled = rss[..ROUNDS / 2].iter().copied().max().unwrap_or(0);
    let last = rss[ROUNDS - 1];
    assert!(last <= settled + settled / 2 + 64 * 1024, "RSS by round (KiB): {rss:?}");
    eprintln!("RSS by round (KiB): {rss:?}; {queries} queries");
}
