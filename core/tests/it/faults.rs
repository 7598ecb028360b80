//! Faults, made on purpose with the real parts: PostgreSQL stopped in the middle of a query, the
//! S3 server gone between planning and reading, a Parquet file truncated or replaced under a
//! running node, the audit log's disk full and made read-only. Each time the query fails with a
//! clear error (never a short result presented as complete), other queries go on, no result is
//! delivered without its audit record, and the log verifies afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use futures::StreamExt;
use lienthong::{Catalog, OpenOptions};
use serde_json::json;

use crate::common::{as_, open, row_count, run};
use crate::object_stores::{catalog_in, s3_with_demo};
use crate::postgres::Postgres;
use crate::sources::{people_table, probe_catalog};

const ROWS: u64 = 1_000_000;

fn records(audit: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (kind, outcome) of every record.
fn outcomes(audit: &Path) -> Vec<(String, String)> {
    records(audit)
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A catalog over a PostgreSQL table of a million people and a small SQLite one, both readable
/// by `analyst` for rows of its region.
fn people_catalog(dir: &Path, pg_port: u16) -> Catalog {
    let grant = |table: &str| {
        json!({ "table": table, "to": { "principals": ["analyst"] }, "purposes": ["check"],
                "columns": ["name", "region", "note"], "row_filter": "region = principal.region" })
    };
    let mut principals = serde_json::Map::new();
    principals.insert(
        "analyst".into(),
        json!({ "agency": "000.00.00.G12", "attributes": { "region": "north" } }),
    );
    let catalog = probe_catalog(
        principals,
        json!({
            "sources": {
                "pg": { "kind": "postgres", "connection": {
                    "host": "127.0.0.1", "port": pg_port, "database": "postgres", "user": "postgres", "sslmode": "disable" } },
                "lite": { "kind": "sqlite", "path": "probe.sqlite" }
            },
            "databases": {
                "pgdb": { "owner": "000.00.00.G12", "description": { "vi": "PG", "en": "PG" },
                          "tables": { "people": people_table("pg", "public.people") } },
                "litedb": { "owner": "000.00.00.G12", "description": { "vi": "SQLite", "en": "SQLite" },
                            "tables": { "people": people_table("lite", "people") } }
            },
            "grants": { "pg-people": grant("pgdb.people"), "lite-people": grant("litedb.people") }
        }),
    );
    std::fs::write(dir.join("catalog.json"), catalog.to_string()).unwrap();
    let conn = rusqlite::Connection::open(dir.join("probe.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE people (name TEXT PRIMARY KEY, region TEXT, note TEXT);
         INSERT INTO people VALUES ('a', 'north', 'x'), ('b', 'north', 'y'), ('c', 'south', 'z');",
    )
    .unwrap();
    Catalog::open_with(
        dir.join("catalog.json"),
        OpenOptions {
            audit_path: Some(dir.join("audit.jsonl")),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_query_fails_that_query_and_the_node_recovers_when_it_returns() {
    let pg = Postgres::start();
    pg.psql(&format!(
        "CREATE TABLE people AS SELECT 'row-' || g AS name, 'north' AS region, repeat('x', 40) AS note \
         FROM generate_series(1, {ROWS}) g"
    ));
    let dir = tempfile::tempdir().unwrap();
    let catalog = people_catalog(dir.path(), pg.port);
    let session = catalog.session("analyst", Some("check")).unwrap();

    let mut stream = session.sql("SELECT name, note FROM pgdb.people").await.unwrap();
    let first = stream.next().await.expect("a first batch").unwrap();
    assert!(first.num_rows() > 0);
    pg.crash();
    let mut delivered = first.num_rows() as u64;
    let mut error = None;
    while let Some(batch) = stream.next().await {
        match batch {
            Ok(batch) => delivered += batch.num_rows() as u64,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let failed_midway = error.is_some();
    match error {
        Some(error) => {
            assert!(error.contains("source `pg`"), "{error}");
            assert!(!error.contains("panicked"), "{error}");
        }
        // The source had sent everything before it stopped: then the result is whole.
        None => assert_eq!(delivered, ROWS, "a short result ended as if complete"),
    }
    // Other sources are unaffected while PostgreSQL is down; PostgreSQL's queries fail clearly.
    assert_eq!(
        row_count(&run(&session, "SELECT * FROM litedb.people").await.unwrap()),
        2
    );
    let down = run(&session, "SELECT count(*) FROM pgdb.people").await.unwrap_err();
    assert!(down.contains("source `pg`"), "{down}");
    // Back: the same node reads it again, without a restart.
    pg.resume();
    let mut back = None;
    for _ in 0..20 {
        match run(&session, "SELECT count(*) AS n FROM pgdb.people").await {
            Ok(batches) => {
                back = Some(batches);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    }
    let back = crate::common::lines(&back.expect("PostgreSQL is read again once it is back"));
    assert_eq!(back, [format!("| {ROWS} |")]);

    let audit = dir.path().join("audit.jsonl");
    let outcomes = outcomes(&audit);
    assert_eq!(outcomes[0], ("query".into(), "accepted".into()));
    assert_eq!(outcomes[1].1, if failed_midway { "failed" } else { "completed" });
    lienthong::audit::verify(&audit).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_server_gone_between_planning_and_reading_fails_the_query_naming_the_source() {
    let (moto, options) = s3_with_demo();
    let (catalog, audit) = open(&catalog_in("s3", &options, "land"));
    let owner = as_(&catalog, "population-owner");
    let whole = row_count(&run(&owner, "SELECT * FROM population.citizens").await.unwrap());
    assert_eq!(whole as u64, crate::common::CITIZENS);

    // Planned (the footer read), then the store goes away before the data is read.
    let stream = owner.sql("SELECT * FROM population.citizens").await.unwrap();
    let mut moto = moto;
    moto.child.kill().unwrap();
    moto.child.wait().unwrap();
    let error = stream.collect().await.unwrap_err().to_string();
    assert!(error.contains("source `population_files`"), "{error}");
    // Local sources of the same node are unaffected.
    let wards = run(&owner, "SELECT count(*) FROM reference.wards").await.unwrap();
    assert_eq!(row_count(&wards), 1);
    let outcomes = outcomes(&audit);
    assert_eq!(
        &outcomes[outcomes.len() - 4..],
        [
            ("query".to_owned(), "accepted".to_owned()),
            ("completion".to_owned(), "failed".to_owned()),
            ("query".to_owned(), "accepted".to_owned()),
            ("completion".to_owned(), "completed".to_owned()),
        ]
    );
    lienthong::audit::verify(&audit).unwrap();
}

/// Demo data of the test's own (its files are changed; the shared demo directory is being
/// written by other tests, so it is generated afresh rather than copied).
fn demo_copy() -> PathBuf {
    demo_with_seed(lienthong_synth::DEFAULT_SEED)
}

/// Demo data of the test's own, from `seed` (another seed: the same tables, other people).
fn demo_with_seed(seed: u64) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let config = lienthong_synth::Config {
        out: dir.clone(),
        citizens: crate::common::CITIZENS,
        seed,
    };
    lienthong_synth::generate(&config, &lienthong_synth::NoProgress).unwrap();
    dir
}

#[tokio::test]
async fn a_parquet_file_truncated_or_replaced_under_a_running_node_fails_its_queries_clearly() {
    let dir = demo_copy();
    let (catalog, audit) = open(&dir.join(lienthong_synth::CATALOG_FILE));
    let owner = as_(&catalog, "population-owner");
    let count = "SELECT count(*) AS n, count(DISTINCT full_name) AS names FROM population.citizens";
    let before = crate::common::lines(&run(&owner, count).await.unwrap());
    let file = dir.join("population/citizens.parquet");
    let original = std::fs::read(&file).unwrap();

    // Truncated to half: the footer is gone.
    std::fs::write(&file, &original[..original.len() / 2]).unwrap();
    let error = run(&owner, count).await.unwrap_err();
    assert!(error.contains("population"), "names the table or source: {error}");
    assert!(
        !error.contains("panicked") && !error.contains("internal error"),
        "{error}"
    );
    // The other files of the node are read as before.
    assert!(run(&owner, "SELECT count(*) FROM population.households").await.is_ok());

    // Replaced by another table's file: the declared columns are not there.
    std::fs::copy(dir.join("population/households.parquet"), &file).unwrap();
    let error = run(&owner, count).await.unwrap_err();
    assert!(
        !error.contains("panicked") && !error.contains("internal error"),
        "{error}"
    );

    // Put back: the same answer as before, from the same running node.
    std::fs::write(&file, &original).unwrap();
    let again = crate::common::lines(&run(&owner, count).await.unwrap());
    assert_eq!(again, before);
    let failed = outcomes(&audit).iter().filter(|(_, o)| o == "failed").count();
    assert!(failed >= 2, "{:?}", outcomes(&audit));
    lienthong::audit::verify(&audit).unwrap();
}

/// A table's file rewritten with other rows of the same schema while a session is open: that
/// session's next queries read the new file (its footer, page index and statistics are cached
/// for the catalog, checked against the file's size and modification time), never the old rows.
#[tokio::test]
async fn a_parquet_file_rewritten_with_other_rows_is_read_afresh_by_an_open_session() {
    let dir = demo_copy();
    let other = demo_with_seed(lienthong_synth::DEFAULT_SEED + 1);
    let (catalog, _) = open(&dir.join(lienthong_synth::CATALOG_FILE));
    let owner = as_(&catalog, "population-owner");
    let summary = "SELECT count(*) AS n, min(citizen_id) AS first, max(citizen_id) AS last, \
                   count(DISTINCT full_name) AS names FROM population.citizens";
    let first = "SELECT min(citizen_id) AS id FROM population.citizens";
    let id = |rows: Vec<String>| rows[0].trim_matches(['|', ' ']).to_owned();
    let old_id = id(crate::common::lines(&run(&owner, first).await.unwrap()));
    let before = crate::common::lines(&run(&owner, summary).await.unwrap());
    // Planned and statistics cached for the old file; then the file is replaced.
    std::fs::copy(
        other.join("population/citizens.parquet"),
        dir.join("population/citizens.parquet"),
    )
    .unwrap();
    let after = crate::common::lines(&run(&owner, summary).await.unwrap());
    let (fresh, _) = open(&other.join(lienthong_synth::CATALOG_FILE));
    let expected = crate::common::lines(&run(&as_(&fresh, "population-owner"), summary).await.unwrap());
    assert_ne!(before, expected, "the two seeds give other people");
    assert_eq!(after, expected);
    // Point lookups, pruned by the cached page index, find the new rows and none of the old.
    let new_id = id(crate::common::lines(&run(&owner, first).await.unwrap()));
    assert_ne!(new_id, old_id);
    let lookup = |id: &str| format!("SELECT citizen_id FROM population.citizens WHERE citizen_id = '{id}'");
    assert_eq!(row_count(&run(&owner, &lookup(&new_id)).await.unwrap()), 1);
    assert_eq!(row_count(&run(&owner, &lookup(&old_id)).await.unwrap()), 0);
}

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs (root in the sandbox and CI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir)
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

const QUERY: &str = "SELECT citizen_id, full_name FROM population.citizens ORDER BY citizen_id LIMIT 5";

#[tokio::test]
async fn with_the_audit_disk_full_or_read_only_no_result_leaves_and_the_log_verifies_after() {
    let disk = Tmpfs::mount("256k");
    let audit = disk.0.join("audit.jsonl");
    let (catalog, _) = crate::common::open_with_audit(&audit);
    let owner = as_(&catalog, "population-owner");
    assert_eq!(row_count(&run(&owner, QUERY).await.unwrap()), 5);

    // Fill the disk, then query until the log's last page is full too: from then on every
    // query is refused before any row, and each that ran has its records.
    let filler = disk.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1k", "count=1024"])
        .arg(format!("of={}", filler.display()))
        .output()
        .unwrap();
    let mut answered = 1;
    let full = loop {
        match owner.sql(QUERY).await {
            Ok(stream) => {
                assert_eq!(row_count(&stream.collect().await.unwrap()), 5);
                answered += 1;
                assert!(answered < 200, "the audit log never filled the disk");
            }
            Err(e) => break e.to_string(),
        }
    };
    assert!(full.contains("audit log"), "{full}");
    assert!(owner.sql(QUERY).await.is_err(), "still full");
    // Room again: the node goes on, and the log verifies with no trace of a half record.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(row_count(&run(&owner, QUERY).await.unwrap()), 5);
    lienthong::audit::verify(&audit).unwrap();

    // Read-only (a filesystem cannot be made read-only under a file open for writing: the node
    // is restarted on it): refused before any row, and fine again once writable.
    drop(owner);
    drop(catalog);
    disk.remount("ro");
    let refused = match crate::common::try_open_with_audit(&audit) {
        Err(e) => e,
        Ok(catalog) => as_(&catalog, "population-owner")
            .sql(QUERY)
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string(),
    };
    assert!(refused.contains("audit log"), "{refused}");
    disk.remount("rw");
    let (catalog, _) = crate::common::open_with_audit(&audit);
    let owner = as_(&catalog, "population-owner");
    assert_eq!(row_count(&run(&owner, QUERY).await.unwrap()), 5);
    let report = lienthong::audit::verify(&audit).unwrap();
    let outcomes = outcomes(&audit);
    assert_eq!(report.records as usize, outcomes.len());
    // Every delivered result has its accepted and completed records.
    let completed = outcomes.iter().filter(|(_, o)| o == "completed").count();
    assert_eq!(completed, answered + 2, "{outcomes:?}");
}
