//! Aggregate-only tables, attacked: every way to make an aggregate over a large group describe one
//! row (its own FILTER, an argument that is an expression, min/max of a value, an error raised on
//! a hidden row), as two principals on two tables. Allowed shapes give the answer of the owner's
//! copy with small groups removed.

use lienthong::Catalog;

use crate::common::{as_, demo, lines, run, variant};
use crate::scenarios::expected;

/// The land officer with an aggregate-only grant on land.parcels (instead of row-level), so that
/// each attack runs against two principals and two tables.
fn land_statistics() -> Catalog {
    variant("aggregate-only-parcels", |spec| {
        let grant = spec.grants.get_mut("land-officer-parcels").unwrap();
        grant.aggregate_only = Some(lienthong::spec::AggregateOnly {
            min_group_size: 5,
            min_max: vec!["province_code".into()],
        });
    })
}

/// (what is tried, SQL with `{t}` the table, `{a}` and `{b}` two of its columns, `{k}` a key).
const DENIED: &[(&str, &str)] = &[
    (
        "aggregate FILTER",
        "SELECT count(*), count(*) FILTER (WHERE {k} = 'x') FROM {t}",
    ),
    (
        "FILTER inside GROUP BY",
        "SELECT {a}, count(*) FILTER (WHERE {b} = 'x') FROM {t} GROUP BY {a}",
    ),
    (
        "sum of CASE",
        "SELECT sum(CASE WHEN {k} = 'x' THEN 1 ELSE 0 END) FROM {t}",
    ),
    ("count of CASE", "SELECT count(CASE WHEN {k} = 'x' THEN 1 END) FROM {t}"),
    ("avg of a comparison", "SELECT avg(CAST({k} = 'x' AS INT)) FROM {t}"),
    (
        "min of a concatenation",
        "SELECT {a}, min({a} || '|' || {b} || '|' || {k}) FROM {t} GROUP BY {a}",
    ),
    ("max of a key", "SELECT max({k}) FROM {t}"),
    (
        "min of a column not allowed",
        "SELECT {a}, min({b}) FROM {t} GROUP BY {a}",
    ),
    (
        "min through a derived table",
        "SELECT min(x) FROM (SELECT {k} AS x FROM {t}) s",
    ),
    (
        "CASE through a derived table",
        "SELECT sum(x) FROM (SELECT CASE WHEN {k} = 'x' THEN 1 ELSE 0 END AS x FROM {t}) s",
    ),
    (
        "CASE through a CTE",
        "WITH c AS (SELECT CASE WHEN {k} = 'x' THEN 1 ELSE 0 END AS x FROM {t}) SELECT sum(x) FROM c",
    ),
    (
        "ORDER BY inside an aggregate",
        "SELECT {a}, sum(length({b}) ORDER BY {b}) FROM {t} GROUP BY {a}",
    ),
    ("string_agg", "SELECT string_agg({k}, ',') FROM {t}"),
    ("array_agg", "SELECT array_agg({k}) FROM {t}"),
    ("first_value", "SELECT first_value({k}) FROM {t}"),
    ("DISTINCT sum", "SELECT sum(DISTINCT length({k})) FROM {t}"),
    (
        "cast that fails on a row",
        "SELECT count(*) FROM {t} WHERE CAST({a} || {k} AS BIGINT) = 0",
    ),
    (
        "division by a row's value",
        "SELECT count(*) FROM {t} WHERE 1 / (CASE WHEN {k} = 'x' THEN 0 ELSE 1 END) = 1",
    ),
    (
        "modulo by a row's value",
        "SELECT count(*) FROM {t} WHERE 1 % length({k}) = 0",
    ),
    (
        "cast in a group key",
        "SELECT CAST({k} AS INT), count(*) FROM {t} GROUP BY 1",
    ),
    (
        "date cast of a string",
        "SELECT count(*) FROM {t} WHERE CAST({k} AS DATE) > DATE '2000-01-01'",
    ),
    (
        "regex on a row",
        "SELECT count(*) FROM {t} WHERE regexp_like({k}, '^0')",
    ),
    (
        "subquery in the condition",
        "SELECT count(*) FROM {t} WHERE {k} IN (SELECT {k} FROM {t})",
    ),
    (
        "ROLLUP",
        "SELECT {a}, {b}, count(*) FROM {t} GROUP BY ROLLUP ({a}, {b})",
    ),
    (
        "GROUPING SETS",
        "SELECT {a}, count(*) FROM {t} GROUP BY GROUPING SETS (({a}), ())",
    ),
    ("CUBE", "SELECT {a}, count(*) FROM {t} GROUP BY CUBE ({a})"),
    ("rows", "SELECT {k} FROM {t} LIMIT 1"),
    ("window over rows", "SELECT {a}, count(*) OVER () FROM {t}"),
];

/// Tables attacked, as (principal, table, a, b, key).
fn targets() -> [(
    Catalog,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
); 2] {
    [
        (
            demo().0,
            "statistician",
            "population.citizens",
            "current_province_code",
            "sex",
            "current_ward_code",
        ),
        (
            land_statistics(),
            "land-officer",
            "land.parcels",
            "ward_code",
            "land_use_code",
            "parcel_id",
        ),
    ]
}

fn fill(sql: &str, table: &str, a: &str, b: &str, key: &str) -> String {
    sql.replace("{t}", table)
        .replace("{a}", a)
        .replace("{b}", b)
        .replace("{k}", key)
}

#[tokio::test]
async fn aggregates_that_could_describe_one_row_are_denied() {
    for (catalog, principal, table, a, b, key) in targets() {
        let session = as_(&catalog, principal);
        for (what, sql) in DENIED {
            let sql = fill(sql, table, a, b, key);
            let error = run(&session, &sql)
                .await
                .expect_err(&format!("{principal}: {what}: {sql}"));
            // Denied by the allow-list, or refused earlier as a shape the engine cannot run.
            assert!(
                error.starts_with("denied: ") || error.contains("ORDER BY inside"),
                "{principal}: {what}: {error}"
            );
            assert!(!error.contains("panic"), "{what}: {error}");
        }
    }
}

#[tokio::test]
async fn refusals_name_the_shape_not_the_data() {
    let (catalog, _) = demo();
    let statistician = as_(&catalog, "statistician");
    for (sql, says) in [
        (
            "SELECT count(*) FILTER (WHERE sex = 'F') FROM population.citizens",
            "FILTER",
        ),
        (
            "SELECT sex, count(*) FROM population.citizens GROUP BY ROLLUP (sex)",
            "GROUPING SETS, CUBE and ROLLUP",
        ),
        (
            "SELECT min(current_ward_code) FROM population.citizens",
            "one row's value",
        ),
        (
            "SELECT count(*) FROM population.citizens WHERE CAST(current_ward_code AS INT) = 4",
            "TRY_CAST",
        ),
    ] {
        let error = run(&statistician, sql).await.unwrap_err();
        assert!(error.contains(says), "{sql}: {error}");
    }
}

/// (SQL as the statistician, the same over the owner's copy with years of birth and small groups
/// applied by hand).
const ALLOWED: &[(&str, &str)] = &[
    (
        "SELECT current_province_code, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2",
        "SELECT current_province_code, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2 HAVING count(*) >= 10",
    ),
    (
        "SELECT current_province_code, min(date_of_birth) AS oldest, max(date_of_birth) AS youngest FROM population.citizens GROUP BY 1",
        "SELECT current_province_code, min(CAST(date_trunc('year', date_of_birth) AS DATE)) AS oldest, max(CAST(date_trunc('year', date_of_birth) AS DATE)) AS youngest FROM population.citizens GROUP BY 1 HAVING count(*) >= 10",
    ),
    (
        "SELECT sex, count(DISTINCT current_ward_code) AS wards FROM population.citizens GROUP BY sex",
        "SELECT sex, count(DISTINCT current_ward_code) AS wards FROM population.citizens GROUP BY sex HAVING count(*) >= 10",
    ),
    (
        "SELECT CASE WHEN date_of_birth < DATE '1980-01-01' THEN 'older' ELSE 'younger' END AS band, count(*) AS n FROM population.citizens WHERE current_ward_code IN ('00070', '00004') AND sex IS NOT NULL GROUP BY 1",
        "SELECT CASE WHEN date_trunc('year', date_of_birth) < DATE '1980-01-01' THEN 'older' ELSE 'younger' END AS band, count(*) AS n FROM population.citizens WHERE current_ward_code IN ('00070', '00004') AND sex IS NOT NULL GROUP BY 1 HAVING count(*) >= 10",
    ),
    (
        "SELECT (2026 - date_part('year', date_of_birth)) / 10 AS decade, count(*) AS n FROM population.citizens GROUP BY 1",
        "SELECT (2026 - date_part('year', date_of_birth)) / 10 AS decade, count(*) AS n FROM population.citizens GROUP BY 1 HAVING count(*) >= 10",
    ),
    (
        "SELECT sex, n, rank() OVER (ORDER BY n DESC) AS r FROM (SELECT sex, count(*) AS n FROM population.citizens GROUP BY sex) t",
        "SELECT sex, n, rank() OVER (ORDER BY n DESC) AS r FROM (SELECT sex, count(*) AS n FROM population.citizens GROUP BY sex HAVING count(*) >= 10) t",
    ),
    (
        "SELECT sex, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r FROM population.citizens GROUP BY sex",
        "SELECT sex, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r FROM population.citizens GROUP BY sex HAVING count(*) >= 10",
    ),
    (
        "SELECT sex, count(*) AS n FROM population.citizens WHERE current_ward_code LIKE '000%' GROUP BY sex",
        "SELECT sex, count(*) AS n FROM population.citizens WHERE current_ward_code LIKE '000%' GROUP BY sex HAVING count(*) >= 10",
    ),
    (
        "SELECT count(*) AS n FROM population.citizens WHERE TRY_CAST(current_ward_code AS INT) = 70",
        "SELECT count(*) AS n FROM population.citizens WHERE TRY_CAST(current_ward_code AS INT) = 70 HAVING count(*) >= 10",
    ),
];

#[tokio::test]
async fn allowed_shapes_answer_as_the_copy_with_small_groups_removed() {
    let (catalog, _) = demo();
    let statistician = as_(&catalog, "statistician");
    for (sql, copy) in ALLOWED {
        let got = run(&statistician, sql).await.map(|b| lines(&b));
        let want = expected("population-owner", copy).await;
        assert_eq!(got, want, "{sql}");
        assert!(want.is_ok_and(|rows| !rows.is_empty()), "{sql}");
    }
}

#[tokio::test]
async fn conditions_above_the_aggregate_never_see_a_suppressed_group() {
    let (catalog, _) = demo();
    let statistician = as_(&catalog, "statistician");
    for keys in [
        "current_province_code, sex, date_of_birth < DATE '1950-01-01'",
        "current_ward_code",
    ] {
        // Sizes of the groups that must stay hidden, from the owner's copy.
        let small = expected(
            "population-owner",
            &format!(
                "SELECT DISTINCT n FROM (SELECT {keys}, count(*) AS n FROM population.citizens GROUP BY {keys}) t WHERE n < 10"
            ),
        )
        .await
        .unwrap();
        assert!(!small.is_empty(), "{keys}: the data has small groups");
        for size in small {
            let size = size.trim_matches(|c| c == '|' || c == ' ');
            // An error here would say that a group of exactly `size` rows exists.
            let sql = format!(
                "SELECT {keys}, count(*) AS n FROM population.citizens GROUP BY {keys} HAVING 1 / (count(*) - {size}) >= 0"
            );
            let answer = run(&statistician, &sql).await;
            assert!(answer.is_ok(), "{sql}: {answer:?}");
        }
    }
    let plan = statistician
        .explain("SELECT sex, count(*) FROM population.citizens GROUP BY sex HAVING count(*) > 1")
        .await
        .unwrap();
    assert!(plan.contains("GroupGuardExec"), "{plan}");
}
