//! Relational sources for real: a PostgreSQL server and a SQLite file. The row policy and the
//! granted columns reach the database in the SQL it receives; principal attributes full of quotes,
//! backslashes, comment markers, NUL and non-ASCII text select exactly their own rows, with
//! pushdown on and off; an unreachable source fails only the queries that touch it.

use std::path::Path;

use lienthong::{Catalog, OpenOptions};
use serde_json::json;

use crate::common::{lines, run};
use crate::postgres::Postgres;

/// Attribute values an attacker would like to see pasted into SQL.
const NASTY: &[&str] = &[
    "O'Brien",
    "a\\b",
    "'; DROP TABLE people; --",
    "x' OR '1'='1",
    "/* comment */ x",
    "-- line comment",
    "Nguyễn Thị Ánh 🌾",
    "tab\tnew\nline",
    "back\\'slash",
    "$$dollar$$",
    "semi;colon",
    "\"double\"",
    "%_like",
    "E'\\x41'",
    "NUL\0byte",
];

/// Characters that break naive SQL quoting, and a few that break naive text handling.
const ALPHABET: &[char] = &[
    '\'', '\\', '"', '`', '-', '/', '*', ';', '\n', '\r', '\t', ' ', 'a', 'Z', '0', 'Ư', 'ễ', '🌾', '%', '_', '$', '?',
    '(', ')', '\0', '\u{feff}',
];

/// The hand-written values, then random strings over [`ALPHABET`] (seeded, so failures repeat).
fn values() -> Vec<String> {
    let mut values: Vec<String> = NASTY.iter().map(|s| (*s).to_owned()).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while values.len() < NASTY.len() + 60 {
        let len = 1 + (next() % 12) as usize;
        let value: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        if !values.contains(&value) && value != "other" {
            values.push(value);
        }
    }
    values
}

/// The probe's `people` table (name, region, note) of `source`, named `remote` there.
pub fn people_table(source: &str, remote: &str) -> serde_json::Value {
    json!({
        "source": source, "remote_name": remote, "classification": "shared",
        "description": { "vi": "Người", "en": "People" },
        "columns": [
            { "name": "name", "type": "string", "primary_key": true },
            { "name": "region", "type": "string" },
            { "name": "note", "type": "string" }
        ]
    })
}

fn catalog_json(pg_port: u16) -> serde_json::Value {
    let principals: serde_json::Map<String, serde_json::Value> = values()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                format!("p{i}"),
                json!({ "agency": "000.00.00.G12", "attributes": { "region": v } }),
            )
        })
        .collect();
    let names: Vec<String> = (0..values().len()).map(|i| format!("p{i}")).collect();
    let grant = |table: &str| {
        json!({
            "table": table, "to": { "principals": names }, "purposes": ["check"],
            "columns": ["name", "region"], "row_filter": "region = principal.region"
        })
    };
    probe_catalog(
        principals,
        json!({
        "sources": {
            "pg": { "kind": "postgres", "connection": {
                "host": "127.0.0.1", "port": pg_port, "database": "postgres", "user": "postgres", "sslmode": "disable" } },
            "lite": { "kind": "sqlite", "path": "probe.sqlite" },
            "down": { "kind": "postgres", "connection": {
                "host": "127.0.0.1", "port": 1, "database": "postgres", "user": "postgres", "sslmode": "disable" } }
        },
        "databases": {
            "pgdb": { "owner": "000.00.00.G12", "description": { "vi": "PG", "en": "PG" },
                      "tables": { "people": people_table("pg", "public.people") } },
            "litedb": { "owner": "000.00.00.G12", "description": { "vi": "SQLite", "en": "SQLite" },
                        "tables": { "people": people_table("lite", "people") } },
            "downdb": { "owner": "000.00.00.G12", "description": { "vi": "Hỏng", "en": "Down" },
                        "tables": { "people": people_table("down", "public.people") } }
        },
        "grants": { "pg-people": grant("pgdb.people"), "lite-people": grant("litedb.people"), "down-people": grant("downdb.people") }
        }),
    )
}

/// A catalog of the node `probe` of the Ministry of Finance, with the purpose `check`: the
/// principals, and the sources, databases and grants in `rest`.
pub fn probe_catalog(
    principals: serde_json::Map<String, serde_json::Value>,
    rest: serde_json::Value,
) -> serde_json::Value {
    let mut catalog = json!({
        "version": 1,
        "node": { "name": "probe", "agency": "000.00.00.G12" },
        "agencies": { "000.00.00.G12": { "name": { "vi": "Bộ Tài chính", "en": "Ministry of Finance" } } },
        "purposes": { "check": { "description": { "vi": "Kiểm tra", "en": "Check" }, "legal_basis": "test" } },
        "principals": principals,
    });
    if let (Some(catalog), serde_json::Value::Object(rest)) = (catalog.as_object_mut(), rest) {
        catalog.extend(rest);
    }
    catalog
}

fn fill_sqlite(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("CREATE TABLE people (name TEXT PRIMARY KEY, region TEXT, note TEXT)")
        .unwrap();
    for (i, v) in values().iter().enumerate() {
        conn.execute(
            "INSERT INTO people VALUES (?1, ?2, ?3)",
            (format!("row-{i}"), v, format!("secret-{i}")),
        )
        .unwrap();
    }
    conn.execute("INSERT INTO people VALUES ('row-other', 'other', 'secret-other')", ())
        .unwrap();
}

fn fill_postgres(pg: &Postgres) {
    pg.psql("CREATE TABLE people (name text PRIMARY KEY, region text, note text)");
    pg.psql("INSERT INTO people VALUES ('row-other', 'other', 'secret-other')");
    for (i, v) in values().iter().enumerate() {
        if v.contains('\0') {
            continue; // PostgreSQL text cannot hold NUL
        }
        // Dollar quoting with a tag that no value contains, so that psql stores the exact bytes.
        pg.psql(&format!(
            "INSERT INTO people VALUES ('row-{i}', $q${v}$q$, 'secret-{i}')"
        ));
    }
}

fn open(dir: &Path, pushdown: bool) -> Catalog {
    Catalog::open_with(
        dir.join("catalog.json"),
        OpenOptions {
            audit_path: Some(dir.join(format!("audit-{pushdown}.jsonl"))),
            no_pushdown: !pushdown,
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relational_sources_receive_the_policy_and_bound_literals_survive_the_trip() {
    let pg = Postgres::start();
    fill_postgres(&pg);
    let dir = tempfile::tempdir().unwrap();
    fill_sqlite(&dir.path().join("probe.sqlite"));
    std::fs::write(dir.path().join("catalog.json"), catalog_json(pg.port).to_string()).unwrap();

    for pushdown in [true, false] {
        let catalog = open(dir.path(), pushdown);
        for (i, value) in values().iter().enumerate() {
            let session = catalog.session(&format!("p{i}"), Some("check")).unwrap();
            for database in ["litedb", "pgdb"] {
                // `region` may hold a line break; the names are one line each.
                let sql = format!("SELECT name FROM {database}.people");
                let got = run(&session, &sql).await;
                let in_db = database == "litedb" || !value.contains('\0');
                match got {
                    Ok(batches) => {
                        let rows = lines(&batches);
                        let expected = usize::from(in_db);
                        assert_eq!(
                            rows.len(),
                            expected,
                            "{database} as p{i} ({value:?}), pushdown {pushdown}: {rows:?}"
                        );
                        if in_db {
                            assert!(rows[0].contains(&format!("row-{i} ")), "{rows:?}");
                        }
                        assert!(
                            !rows.iter().any(|r| r.contains("secret") || r.contains("other")),
                            "{rows:?}"
                        );
                    }
                    // A value the database cannot take (NUL for PostgreSQL) may fail cleanly.
                    Err(e) => assert!(value.contains('\0') && database == "pgdb", "{database} as p{i}: {e}"),
                }
            }
        }
    }

    // What PostgreSQL received: the policy predicate and only the granted columns.
    let log = pg.log();
    let statements: Vec<&str> = log
        .lines()
        .filter(|l| (l.contains("statement: SELECT") || l.contains("execute")) && l.contains("people"))
        .collect();
    assert!(!statements.is_empty(), "{log}");
    assert!(
        statements.iter().any(|s| s.contains("WHERE") && s.contains("O''Brien")),
        "{statements:#?}"
    );
    assert!(
        statements.iter().all(|s| !s.contains("note")),
        "ungranted column sent: {statements:#?}"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM people").trim(),
        (values().iter().filter(|v| !v.contains('\0')).count() + 1).to_string(),
        "the table survived"
    );

    // What SQLite receives is in the plan.
    let catalog = open(dir.path(), true);
    let session = catalog.session("p0", Some("check")).unwrap();
    let plan = session.explain("SELECT * FROM litedb.people").await.unwrap();
    let sql_line = plan.lines().find(|l| l.contains("SQLiteSqlExec")).unwrap_or_default();
    assert!(sql_line.contains("WHERE") && sql_line.contains("O''Brien"), "{plan}");
    assert!(!sql_line.contains("note"), "{plan}");
}

#[tokio::test]
async fn an_unreachable_source_fails_only_the_queries_that_touch_it_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    fill_sqlite(&dir.path().join("probe.sqlite"));
    std::fs::write(dir.path().join("catalog.json"), catalog_json(1).to_string()).unwrap();
    let catalog = open(dir.path(), true);
    let session = catalog.session("p0", Some("check")).unwrap();
    let error = run(&session, "SELECT * FROM pgdb.people").await.unwrap_err();
    assert!(error.contains("source `pg`"), "{error}");
    let error = run(&session, "SELECT * FROM downdb.people").await.unwrap_err();
    assert!(error.contains("source `down`"), "{error}");
    let rows = lines(&run(&session, "SELECT name FROM litedb.people").await.unwrap());
    assert_eq!(rows.len(), 1);
}

/// The row policy reaches the Parquet reader: row groups and pages outside the caller's rows are
/// never read (the demo files are sorted by key, with statistics and page indexes).
#[tokio::test]
async fn parquet_scans_prune_what_the_policy_excludes() {
    use futures::StreamExt;
    let (catalog, _) = crate::common::open(&crate::common::large_demo_dir().join(lienthong_synth::CATALOG_FILE));
    // Parcels are written in ward order: the ward officer's rows sit in a few pages.
    let officer = crate::common::as_(&catalog, "ward-officer");
    let mut stream = officer.sql("SELECT parcel_id FROM land.parcels").await.unwrap();
    while let Some(batch) = stream.next().await {
        batch.unwrap();
    }
    let pruning = stream.pruning();
    let (pages_pruned, pages_read) = pruning["page_index_pages_pruned"];
    assert!(pages_pruned > 0 && pages_pruned > pages_read, "{pruning:?}");
    // Citizens are sorted by ID: a lookup by ID reads one row group's pages.
    let owner = crate::common::as_(&catalog, "population-owner");
    let mut stream = owner
        .sql("SELECT full_name FROM population.citizens WHERE citizen_id = '001090000001'")
        .await
        .unwrap();
    while let Some(batch) = stream.next().await {
        batch.unwrap();
    }
    let pruning = stream.pruning();
    assert!(pruning["row_groups_pruned_statistics"].0 > 0, "{pruning:?}");
    assert!(pruning["page_index_rows_pruned"].0 > 0, "{pruning:?}");
}

/// A source that was missing when the catalog opened is tried again by later sessions: once it is
/// there, queries work without reopening the catalog.
#[tokio::test]
async fn a_source_that_comes_back_is_used_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.json"), catalog_json(1).to_string()).unwrap();
    let catalog = open(dir.path(), true);
    let session = catalog.session("p0", Some("check")).unwrap();
    let error = run(&session, "SELECT name FROM litedb.people").await.unwrap_err();
    assert!(
        error.contains("source `lite`") && error.contains("no SQLite file"),
        "{error}"
    );
    fill_sqlite(&dir.path().join("probe.sqlite"));
    let session = catalog.session("p0", Some("check")).unwrap();
    let rows = lines(&run(&session, "SELECT name FROM litedb.people").await.unwrap());
    assert_eq!(rows.len(), 1, "{rows:?}");
    catalog.refresh();
    let session = catalog.session("p0", Some("check")).unwrap();
    assert_eq!(
        lines(&run(&session, "SELECT name FROM litedb.people").await.unwrap()).len(),
        1
    );
}

/// The catalog names where its audit log goes.
#[tokio::test]
async fn the_audit_log_goes_where_the_catalog_says() {
    let dir = tempfile::tempdir().unwrap();
    fill_sqlite(&dir.path().join("probe.sqlite"));
    let mut catalog = catalog_json(1);
    catalog["node"]["audit_log"] = json!("logs/probe-audit.jsonl");
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    let catalog = Catalog::open(dir.path().join("catalog.json")).unwrap();
    assert_eq!(catalog.audit_path(), dir.path().join("logs/probe-audit.jsonl"));
    let session = catalog.session("p0", Some("check")).unwrap();
    run(&session, "SELECT name FROM litedb.people").await.unwrap();
    assert_eq!(lienthong::audit::verify(catalog.audit_path()).unwrap().records, 2);
}
