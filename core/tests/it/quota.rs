//! Volume quotas, attacked: rows and looked-up keys per query, day and month, per principal and
//! per agency; held back until charged, refused before running once used up, kept across restarts
//! and shared by concurrent queries without going past the limit.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use lienthong::datafusion::scalar::ScalarValue;
use lienthong::mask::PseudonymSecret;
use lienthong::spec::{Lookup, Quota, QuotaLimits, QuotaSubject, Selector};
use lienthong::{Catalog, Error, OpenOptions};

use crate::common::{SECRET, as_, demo_dir, row_count, run, today, variant};

fn limits(query: Option<u64>, day: Option<u64>, month: Option<u64>) -> QuotaLimits {
    QuotaLimits { query, day, month }
}

fn quota(to: Selector, tables: &[&str], rows: Option<QuotaLimits>, keys: Option<QuotaLimits>) -> Quota {
    Quota {
        to,
        purposes: Vec::new(),
        tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        per: QuotaSubject::Principal,
        rows,
        keys,
        description: None,
    }
}

fn principal(id: &str) -> Selector {
    Selector {
        principals: vec![id.to_owned()],
        ..Selector::default()
    }
}

/// The variant `name` of the demo catalog, opened on `day` with the audit log at `audit`.
fn reopen(name: &str, audit: &Path, day: NaiveDate) -> Catalog {
    Catalog::open_with(
        demo_dir().join(format!("{name}.yaml")),
        OpenOptions {
            audit_path: Some(audit.to_owned()),
            pseudonym_secret: Some(PseudonymSecret::new(SECRET).unwrap()),
            today: Some(day),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

fn audit_of(catalog: &Catalog) -> PathBuf {
    catalog.audit_path().to_owned()
}

fn records(audit: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Residents of the ward officer's ward, `n` of them.
fn residents(n: usize) -> String {
    format!("SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT {n}")
}

fn is_quota(error: &Error) -> bool {
    matches!(error, Error::Quota(_))
}

#[tokio::test]
async fn rows_per_query_and_per_day_are_held_back_until_charged() {
    let catalog = variant("quota-rows", |spec| {
        spec.quotas.insert(
            "ward-rows".into(),
            quota(
                principal("ward-officer"),
                &["population.citizens"],
                Some(limits(Some(3), Some(5), None)),
                None,
            ),
        );
    });
    let officer = as_(&catalog, "ward-officer");
    // More than 3 rows in one query: an error first, no row released.
    let mut stream = officer.sql(&residents(4)).await.unwrap();
    let first = futures::StreamExt::next(&mut stream).await.unwrap();
    let error = first.unwrap_err();
    assert!(is_quota(&error), "{error:?}");
    assert!(error.to_string().contains("at most 3 rows per query"), "{error}");
    drop(stream);
    // 2 + 2 rows fit the day's 5; 2 more do not (the query ran, nothing was released).
    assert_eq!(row_count(&run(&officer, &residents(2)).await.unwrap()), 2);
    assert_eq!(row_count(&run(&officer, &residents(2)).await.unwrap()), 2);
    let error = officer.sql(&residents(2)).await.unwrap().collect().await.unwrap_err();
    assert!(error.to_string().contains("4 of 5 rows per day used"), "{error}");
    // One row fits; after it nothing is left and a query is refused before it runs.
    assert_eq!(row_count(&run(&officer, &residents(1)).await.unwrap()), 1);
    let error = officer.sql(&residents(1)).await.unwrap_err();
    assert!(is_quota(&error), "{error:?}");
    assert!(error.to_string().contains("all 5 rows per day used"), "{error}");
    // A query that reads no table in scope is not counted.
    run(&officer, "SELECT count(*) FROM land.parcels").await.unwrap();
    // What is left, as the caller sees it.
    let status = officer.quotas().unwrap();
    let day = status.iter().find(|s| s.window == "day").unwrap();
    assert_eq!((day.limit, day.used, day.remaining), (5, 5, 0));
    assert_eq!(day.period.as_deref(), Some("2026-11-23"));
    let per_query = status.iter().find(|s| s.window == "query").unwrap();
    assert_eq!((per_query.limit, per_query.remaining), (3, 3));
    // Another principal is not counted against the officer's quota, nor limited by it.
    assert!(as_(&catalog, "land-officer").quotas().unwrap().is_empty());
    // The audit: rows charged on completions, the refusals as denials naming the quota.
    let log = records(&audit_of(&catalog));
    let charged: u64 = log
        .iter()
        .filter(|r| r["kind"] == "completion" && r["outcome"] == "completed")
        .filter_map(|r| r["quotas"][0]["rows"].as_u64())
        .sum();
    assert_eq!(charged, 5);
    let refused = log.iter().rfind(|r| r["outcome"] == "denied").unwrap();
    assert_eq!(refused["kind"], "query");
    assert!(refused["error"].as_str().unwrap().contains("ward-rows"), "{refused}");
    let failed = log
        .iter()
        .filter(|r| r["kind"] == "completion" && r["outcome"] == "failed")
        .count();
    assert_eq!(failed, 2, "the 4-row query and the 2-row query past the day's limit");
}

#[tokio::test]
async fn counters_survive_a_restart_and_start_again_the_next_day_and_month() {
    let name = "quota-persist";
    let catalog = variant(name, |spec| {
        spec.quotas.insert(
            "ward-rows".into(),
            quota(
                principal("ward-officer"),
                &[],
                Some(limits(None, Some(3), Some(4))),
                None,
            ),
        );
    });
    let audit = audit_of(&catalog);
    run(&as_(&catalog, "ward-officer"), &residents(3)).await.unwrap();
    drop(catalog);
    // Restarted: the day's 3 rows are still used.
    let restarted = reopen(name, &audit, today());
    let error = as_(&restarted, "ward-officer").sql(&residents(1)).await.unwrap_err();
    assert!(is_quota(&error), "{error:?}");
    // The next day: the day's counter is new, the month's still has 3 of 4 used.
    let tomorrow = reopen(name, &audit, today().succ_opt().unwrap());
    let officer = as_(&tomorrow, "ward-officer");
    let error = officer.sql(&residents(2)).await.unwrap().collect().await.unwrap_err();
    assert!(error.to_string().contains("3 of 4 rows per month used"), "{error}");
    assert_eq!(row_count(&run(&officer, &residents(1)).await.unwrap()), 1);
    // The next month: everything is new.
    let next_month = reopen(name, &audit, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    assert_eq!(
        row_count(&run(&as_(&next_month, "ward-officer"), &residents(3)).await.unwrap()),
        3
    );
    // The counters are kept next to the audit log, and a damaged file is refused, not reset.
    let counters = audit.with_file_name("audit.jsonl.quotas.json");
    assert!(counters.exists());
    std::fs::write(&counters, "{ not json").unwrap();
    let error = as_(&next_month, "ward-officer").sql(&residents(1)).await.unwrap_err();
    assert!(error.to_string().contains("damaged"), "{error}");
}

/// The registrar's citizens lookup-only, with a keys quota.
fn registrar_with_keys(name: &str, keys: QuotaLimits, per: QuotaSubject) -> Catalog {
    variant(name, |spec| {
        spec.grants.get_mut("registrar-representatives").unwrap().lookup = Some(Lookup {
            by: vec!["citizen_id".into()],
            max_keys: Some(5),
            verify: Vec::new(),
        });
        let mut keys_quota = quota(
            Selector {
                roles: vec!["business-registrar".into()],
                ..Selector::default()
            },
            &["population.citizens"],
            None,
            Some(keys),
        );
        keys_quota.per = per;
        keys_quota.purposes = vec!["business-registration".into()];
        spec.quotas.insert("registrar-keys".into(), keys_quota);
    })
}

async fn ids(n: usize) -> Vec<String> {
    crate::common::citizen_ids(n).await
}

const LOOKUP: &str = "SELECT citizen_id, full_name FROM population.citizens WHERE citizen_id = $1";

#[tokio::test]
async fn a_prepared_lookup_run_once_per_person_stops_at_the_distinct_keys_of_the_day() {
    let catalog = registrar_with_keys("quota-keys", limits(Some(2), Some(3), None), QuotaSubject::Principal);
    let registrar = as_(&catalog, "business-registrar");
    let ids = ids(6).await;
    let lookup = |id: &str| {
        let params = [ScalarValue::from(id)];
        let registrar = &registrar;
        async move { registrar.query(LOOKUP, &params).await }
    };
    for id in &ids[..3] {
        assert_eq!(row_count(&lookup(id).await.unwrap().collect().await.unwrap()), 1);
    }
    // The same people again: no new key, still answered.
    assert_eq!(row_count(&lookup(&ids[0]).await.unwrap().collect().await.unwrap()), 1);
    // A fourth person, whether registered or not, is refused alike, before anything runs.
    let existing = lookup(&ids[3]).await.unwrap_err();
    let missing = lookup("099999999999").await.unwrap_err();
    assert!(is_quota(&existing), "{existing:?}");
    let strip = |e: &Error| e.to_string();
    assert_eq!(strip(&existing), strip(&missing));
    assert!(strip(&existing).contains("3 of 3 keys per day used"), "{existing}");
    // Per query: an IN list of three keys is past the per-query limit of 2.
    let error = run(
        &registrar,
        &format!(
            "SELECT full_name FROM population.citizens WHERE citizen_id IN ('{}', '{}', '{}')",
            ids[0], ids[1], ids[2]
        ),
    )
    .await
    .unwrap_err();
    assert!(error.contains("at most 2 per query"), "{error}");
    // The query records say how many keys each charged; the counters hold digests, not IDs.
    let log = records(&audit_of(&catalog));
    let keys: Vec<u64> = log
        .iter()
        .filter(|r| r["kind"] == "query" && r["outcome"] == "accepted")
        .filter_map(|r| r["quotas"][0]["keys"].as_u64())
        .collect();
    assert_eq!(keys, [1, 1, 1, 1]);
    let counters = std::fs::read_to_string(audit_of(&catalog).with_file_name("audit.jsonl.quotas.json")).unwrap();
    for id in &ids {
        assert!(!counters.contains(id.as_str()), "{counters}");
    }
    let status = registrar.quotas().unwrap();
    let day = status.iter().find(|s| s.unit == "keys" && s.window == "day").unwrap();
    assert_eq!((day.used, day.remaining), (3, 0));
}

#[tokio::test]
async fn many_connections_at_once_share_one_counter_and_never_pass_it() {
    let catalog = variant("quota-concurrent", |spec| {
        spec.quotas.insert(
            "ward-rows".into(),
            quota(
                principal("ward-officer"),
                &["population.citizens"],
                Some(limits(None, Some(10), None)),
                None,
            ),
        );
    });
    let queries = (0..12).map(|_| {
        let catalog = catalog.clone();
        tokio::spawn(async move {
            let session = as_(&catalog, "ward-officer");
            match session.sql(&residents(2)).await {
                Ok(stream) => stream.collect().await.map(|b| row_count(&b)),
                Err(e) => Err(e),
            }
        })
    });
    let mut delivered = 0;
    for query in queries {
        match query.await.unwrap() {
            Ok(rows) => delivered += rows,
            Err(e) => assert!(is_quota(&e), "{e:?}"),
        }
    }
    assert_eq!(delivered, 10, "exactly the day's rows, never more");
}

#[tokio::test]
async fn an_agency_quota_is_shared_by_its_principals() {
    let catalog = variant("quota-agency", |spec| {
        let mut deputy = spec.principals["business-registrar"].clone();
        deputy.credential = None;
        deputy.certificates.clear();
        spec.principals.insert("deputy-registrar".into(), deputy);
        spec.grants.get_mut("registrar-representatives").unwrap().to = Selector {
            roles: vec!["business-registrar".into()],
            ..Selector::default()
        };
        spec.grants.get_mut("registrar-representatives").unwrap().lookup = Some(Lookup {
            by: vec!["citizen_id".into()],
            max_keys: Some(5),
            verify: Vec::new(),
        });
        let mut shared = quota(
            Selector {
                roles: vec!["business-registrar".into()],
                ..Selector::default()
            },
            &["population.citizens"],
            None,
            Some(limits(None, Some(2), None)),
        );
        shared.per = QuotaSubject::Agency;
        spec.quotas.insert("registrar-office".into(), shared);
    });
    let ids = ids(3).await;
    let registrar = as_(&catalog, "business-registrar");
    let deputy = catalog
        .session("deputy-registrar", Some("business-registration"))
        .unwrap();
    registrar
        .query(LOOKUP, &[ScalarValue::from(ids[0].as_str())])
        .await
        .unwrap();
    deputy
        .query(LOOKUP, &[ScalarValue::from(ids[1].as_str())])
        .await
        .unwrap();
    let error = registrar
        .query(LOOKUP, &[ScalarValue::from(ids[2].as_str())])
        .await
        .unwrap_err();
    assert!(is_quota(&error), "{error:?}");
    assert!(error.to_string().contains("agency 000.00.12.H26"), "{error}");
    assert_eq!(deputy.quotas().unwrap()[0].remaining, 0);
}

#[tokio::test]
async fn a_result_too_large_to_hold_is_charged_batch_by_batch_and_stops_at_the_limit() {
    let file = crate::common::large_demo_dir().join(lienthong_synth::CATALOG_FILE);
    let mut spec = lienthong::spec::load(&file).unwrap().catalog;
    spec.quotas.insert(
        "steward-rows".into(),
        quota(
            principal("population-owner"),
            &["population.citizens"],
            Some(limits(None, Some(180_000), None)),
            None,
        ),
    );
    let path = crate::common::large_demo_dir().join("quota-large.yaml");
    std::fs::write(&path, lienthong::spec::to_yaml(&spec, &[])).unwrap();
    let (catalog, audit) = crate::common::open(&path);
    let owner = as_(&catalog, "population-owner");
    let all = "SELECT citizen_id FROM population.citizens";
    assert_eq!(row_count(&run(&owner, all).await.unwrap()), 100_000);
    // The second read goes past the day's 180 000. The 80 000 rows left are more than a query
    // holds back: what it holds is charged and released, then batch by batch, and the read fails
    // once the next batch would not fit.
    let mut stream = owner.sql(all).await.unwrap();
    let mut delivered = 0u64;
    let error = loop {
        match futures::StreamExt::next(&mut stream).await {
            Some(Ok(batch)) => delivered += batch.num_rows() as u64,
            Some(Err(error)) => break error,
            None => panic!("the read ended after {delivered} rows"),
        }
    };
    drop(stream);
    assert!(is_quota(&error), "{error:?}");
    assert!(delivered <= 80_000 && delivered > 65_536, "{delivered}");
    let day = owner.quotas().unwrap().into_iter().find(|q| q.window == "day").unwrap();
    assert_eq!(day.used, 100_000 + delivered);
    let failed = records(&audit)
        .into_iter()
        .rfind(|r| r["kind"] == "completion")
        .unwrap();
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["quotas"][0]["rows"].as_u64(), Some(delivered));
    // What is left is less than a query would hold back: the next read fails with nothing released.
    let mut stream = owner.sql(all).await.unwrap();
    let first = futures::StreamExt::next(&mut stream).await.unwrap();
    assert!(first.unwrap_err().to_string().contains("none was released"));
}
