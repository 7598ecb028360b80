//! What a database does differently from the engine must never decide which rows a caller sees,
//! nor what type a column has. The same rows in a SQLite file and a PostgreSQL server; row
//! filters whose meaning differs between the databases and DataFusion (case in `LIKE`, Unicode
//! in `upper`, text order, dates, booleans, NULL); every column type the catalog allows. Each
//! governed answer is compared with DataFusion's own answer over the same rows in memory.

use std::sync::Arc;

use lienthong::datafusion::arrow::array::RecordBatch;
use lienthong::datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use lienthong::datafusion::catalog::MemTable;
use lienthong::datafusion::prelude::SessionContext;
use lienthong::{Catalog, OpenOptions};
use serde_json::json;

use crate::common::{lines, run};
use crate::postgres::Postgres;

/// (name, region, born, seen, active, n, score); the last row is all NULL but its name. A column
/// `big` (int64) holds `n` × 10⁹.
const ROWS: &[(&str, &str, &str, &str, bool, i32, f64)] = &[
    ("a", "cat", "1990-05-01", "2024-01-02 03:04:05", true, 3, 1.5),
    ("b", "Cat", "1985-12-31", "2023-06-07 08:09:10", false, -2, 2.25),
    ("c", "ấp", "2001-01-01", "2020-02-29 00:00:00", true, 7, -0.5),
    ("d", "Ấp", "1960-07-04", "2019-11-11 11:11:11", false, 0, 0.0),
    ("e", "b", "1999-09-09", "2022-12-31 23:59:59", true, 11, 10.0),
    ("f", "B", "2010-10-10", "2021-03-04 05:06:07", false, 5, 3.75),
];

/// Row filters whose meaning in SQLite or PostgreSQL differs from DataFusion's, one principal each.
const FILTERS: &[&str] = &[
    "region LIKE 'c%'",
    "region ILIKE 'c%'",
    "region NOT LIKE '%P'",
    "upper(region) = 'ẤP'",
    "lower(region) = 'cat'",
    "region < 'b'",
    "region >= 'B' AND region <= 'c'",
    "born > DATE '1990-01-01'",
    "active = true",
    "NOT (active = true)",
    "n > 2",
    "score >= 2.0",
    "big > 2000000000",
    "region IN ('b', 'Cat')",
    "region IS NULL",
    "length(region) = 2",
    "CAST(n AS VARCHAR) = '7'",
    "seen < TIMESTAMP '2022-01-01 00:00:00'",
];

const BILLION: i64 = 1_000_000_000;

const COLUMNS: &str = "name, region, born, seen, active, n, score, big";

fn catalog(pg_port: u16) -> serde_json::Value {
    let principals: serde_json::Map<String, serde_json::Value> = (0..FILTERS.len())
        .map(|i| (format!("p{i}"), json!({ "agency": "000.00.00.G12" })))
        .collect();
    let table = |source: &str, remote: &str| {
        json!({
            "source": source, "remote_name": remote, "classification": "shared",
            "description": { "vi": "Mẫu", "en": "Samples" },
            "columns": [
                { "name": "name", "type": "string", "primary_key": true },
                { "name": "region", "type": "string" },
                { "name": "born", "type": "date" },
                { "name": "seen", "type": "timestamp" },
                { "name": "active", "type": "boolean" },
                { "name": "n", "type": "int32" },
                { "name": "score", "type": "float64" },
                { "name": "big", "type": "int64" }
            ]
        })
    };
    let mut grants = serde_json::Map::new();
    for (i, filter) in FILTERS.iter().enumerate() {
        for db in ["litedb", "pgdb"] {
            grants.insert(
                format!("{db}-p{i}"),
                json!({ "table": format!("{db}.samples"), "to": { "principals": [format!("p{i}")] },
                        "purposes": ["check"], "columns": ["*"], "row_filter": filter }),
            );
        }
    }
    grants.insert(
        "all-lite".into(),
        json!({ "table": "litedb.samples", "to": { "principals": ["owner"] }, "purposes": ["check"], "columns": ["*"] }),
    );
    grants.insert(
        "all-pg".into(),
        json!({ "table": "pgdb.samples", "to": { "principals": ["owner"] }, "purposes": ["check"], "columns": ["*"] }),
    );
    let mut principals = principals;
    principals.insert("owner".into(), json!({ "agency": "000.00.00.G12" }));
    crate::sources::probe_catalog(
        principals,
        json!({
        "sources": {
            "pg": { "kind": "postgres", "connection": {
                "host": "127.0.0.1", "port": pg_port, "database": "postgres", "user": "postgres", "sslmode": "disable" } },
            "lite": { "kind": "sqlite", "path": "samples.sqlite" }
        },
        "databases": {
            "pgdb": { "owner": "000.00.00.G12", "description": { "vi": "PG", "en": "PG" },
                      "tables": { "samples": table("pg", "public.samples") } },
            "litedb": { "owner": "000.00.00.G12", "description": { "vi": "SQLite", "en": "SQLite" },
                        "tables": { "samples": table("lite", "samples") } }
        },
        "grants": grants
        }),
    )
}

fn fill(pg: &Postgres, sqlite: &std::path::Path) {
    let conn = rusqlite::Connection::open(sqlite).unwrap();
    conn.execute_batch(
        "CREATE TABLE samples (name TEXT PRIMARY KEY, region TEXT, born DATE, seen TIMESTAMP, \
         active BOOLEAN, n INTEGER, score REAL, big INTEGER)",
    )
    .unwrap();
    pg.psql(
        "CREATE TABLE samples (name text PRIMARY KEY, region text, born date, seen timestamptz, \
         active boolean, n integer, score double precision, big bigint)",
    );
    for (name, region, born, seen, active, n, score) in ROWS {
        conn.execute(
            "INSERT INTO samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![name, region, born, seen, active, n, score, i64::from(*n) * BILLION],
        )
        .unwrap();
        pg.psql(&format!(
            "INSERT INTO samples VALUES ('{name}', '{region}', '{born}', '{seen}+00', {active}, {n}, {score}, {})",
            i64::from(*n) * BILLION
        ));
    }
    conn.execute("INSERT INTO samples (name) VALUES ('g')", ()).unwrap();
    pg.psql("INSERT INTO samples (name) VALUES ('g')");
}

/// DataFusion over the same rows in memory: the meaning every filter must have.
async fn oracle() -> SessionContext {
    use lienthong::datafusion::arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, true),
        Field::new("born", DataType::Date32, true),
        Field::new(
            "seen",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("active", DataType::Boolean, true),
        Field::new("n", DataType::Int32, true),
        Field::new("score", DataType::Float64, true),
        Field::new("big", DataType::Int64, true),
    ]));
    let day = |s: &str| {
        let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        i32::try_from((date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()).unwrap()
    };
    let micros = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    };
    let all = || ROWS.iter().map(Some).chain([None]);
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from_iter_values(ROWS.iter().map(|r| r.0).chain(["g"]))),
            Arc::new(StringArray::from_iter(all().map(|r| r.map(|r| r.1)))),
            Arc::new(Date32Array::from_iter(all().map(|r| r.map(|r| day(r.2))))),
            Arc::new(TimestampMicrosecondArray::from_iter(all().map(|r| r.map(|r| micros(r.3)))).with_timezone("UTC")),
            Arc::new(BooleanArray::from_iter(all().map(|r| r.map(|r| r.4)))),
            Arc::new(Int32Array::from_iter(all().map(|r| r.map(|r| r.5)))),
            Arc::new(Float64Array::from_iter(all().map(|r| r.map(|r| r.6)))),
            Arc::new(Int64Array::from_iter(
                all().map(|r| r.map(|r| i64::from(r.5) * BILLION)),
            )),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table(
        "samples",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_filters_mean_what_they_mean_in_the_engine_and_types_hold_at_the_source() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    fill(&pg, &dir.path().join("samples.sqlite"));
    std::fs::write(dir.path().join("catalog.json"), catalog(pg.port).to_string()).unwrap();
    let oracle = oracle().await;
    let want = |sql: String| {
        let oracle = oracle.clone();
        async move { lines(&oracle.sql(&sql).await.unwrap().collect().await.unwrap()) }
    };
    for pushdown in [true, false] {
        let catalog = Catalog::open_with(
            dir.path().join("catalog.json"),
            OpenOptions {
                audit_path: Some(dir.path().join(format!("audit-{pushdown}.jsonl"))),
                no_pushdown: !pushdown,
                ..OpenOptions::default()
            },
        )
        .unwrap();
        for (i, filter) in FILTERS.iter().enumerate() {
            let session = catalog.session(&format!("p{i}"), Some("check")).unwrap();
            let expected = want(format!("SELECT name FROM samples WHERE {filter}")).await;
            for db in ["litedb", "pgdb"] {
                let got = run(&session, &format!("SELECT name FROM {db}.samples")).await;
                assert_eq!(
                    got.map(|b| lines(&b)),
                    Ok(expected.clone()),
                    "{db}, `{filter}`, pushdown {pushdown}"
                );
            }
        }
        // Every declared type, as declared, from both databases: whole rows, aggregates, and a
        // count with no column read (the source is asked for rows, not columns).
        let owner = catalog.session("owner", Some("check")).unwrap();
        for sql in [
            format!("SELECT {COLUMNS} FROM {{t}}"),
            "SELECT min(born) AS a, max(born) AS b, min(seen) AS c, max(seen) AS d, sum(n) AS e, avg(score) AS f, sum(big) AS g FROM {t}".to_owned(),
            "SELECT count(*) AS n FROM {t} WHERE region = 'cat'".to_owned(),
            "SELECT count(*) AS n FROM {t}".to_owned(),
            "SELECT active, count(*) AS n FROM {t} GROUP BY active".to_owned(),
        ] {
            let expected = want(sql.replace("{t}", "samples")).await;
            for db in ["litedb", "pgdb"] {
                let table = format!("{db}.samples");
                let got = run(&owner, &sql.replace("{t}", &table)).await;
                assert_eq!(
                    got.map(|b| lines(&b)),
                    Ok(expected.clone()),
                    "{sql} on {db}, pushdown {pushdown}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_demo_registers_sqlite_dates_read_as_dates_for_anyone() {
    let (catalog, _) = crate::common::demo();
    for principal in ["public", "business-registrar"] {
        let session = crate::common::as_(&catalog, principal);
        let rows = run(&session, "SELECT * FROM business.enterprise_register")
            .await
            .unwrap();
        assert!(crate::common::row_count(&rows) > 0);
        let field = rows[0].schema().field_with_name("registration_date").unwrap().clone();
        assert_eq!(field.data_type(), &DataType::Date32, "{principal}");
        let range = run(
            &session,
            "SELECT min(registration_date) AS first, max(registration_date) AS last FROM business.enterprise_register",
        )
        .await
        .unwrap();
        let text = lines(&range).join("");
        assert_eq!(crate::common::row_count(&range), 1, "{text}");
    }
}
