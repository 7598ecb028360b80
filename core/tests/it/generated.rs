//! Generated queries: outer joins, extra join conditions, windows over joins, scalar subqueries,
//! contradictory conditions, as several principals, each compared with the principal's
//! pre-filtered, pre-masked copy. The announced schema (what Flight SQL's GetFlightInfo sends)
//! must be the schema of the batches, nullability included. A fixed seed: a failure names the
//! query, which is its own reproduction.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng as StdRng;

use crate::common::{as_, lines};
use crate::scenarios::expected;

/// Queries per principal (`LIENTHONG_GENERATED_QUERIES` for a longer run).
fn per_principal() -> usize {
    std::env::var("LIENTHONG_GENERATED_QUERIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60)
}

const SEED: u64 = 20_261_202;

/// A table as the generator uses it: name, alias prefix, a key, a ward column, other columns.
struct Table {
    name: &'static str,
    key: &'static str,
    ward: &'static str,
    other: &'static [&'static str],
}

const CITIZENS: Table = Table {
    name: "population.citizens",
    key: "citizen_id",
    ward: "current_ward_code",
    other: &["sex", "household_id", "date_of_birth", "full_name"],
};
const HOUSEHOLDS: Table = Table {
    name: "population.households",
    key: "head_citizen_id",
    ward: "ward_code",
    other: &["household_id", "member_count"],
};
const RIGHTS: Table = Table {
    name: "land.rights",
    key: "holder_citizen_id",
    ward: "ward_code",
    other: &["parcel_id", "holder_kind"],
};
const PARCELS: Table = Table {
    name: "land.parcels",
    key: "parcel_id",
    ward: "ward_code",
    other: &["area_m2", "land_use_code"],
};

const ENTERPRISES: Table = Table {
    name: "business.enterprises",
    key: "legal_representative_id",
    ward: "head_office_ward_code",
    other: &["enterprise_code", "legal_form", "status", "registration_date"],
};
const REPRESENTED: Table = Table {
    name: "population.citizens",
    key: "citizen_id",
    ward: "permanent_ward_code",
    other: &["full_name", "date_of_birth"],
};
const PERSONNEL: Table = Table {
    name: "civil_servants.personnel",
    key: "citizen_id",
    ward: "agency_province_code",
    other: &["personnel_no", "position", "grade_code"],
};
const INSPECTED: Table = Table {
    name: "business.enterprises",
    key: "legal_representative_id",
    ward: "head_office_province_code",
    other: &["enterprise_code", "status"],
};

/// Principals whose queries are generated.
const PRINCIPALS: [&str; 4] = ["ward-officer", "land-officer", "business-registrar", "inspector"];

/// The two tables a principal's queries join, and the join condition between `t1` and `t2`.
fn tables_of(principal: &str) -> (&'static Table, &'static Table, &'static str) {
    match principal {
        "land-officer" => (&PARCELS, &RIGHTS, "t1.parcel_id = t2.parcel_id"),
        "business-registrar" => (&ENTERPRISES, &REPRESENTED, "t1.legal_representative_id = t2.citizen_id"),
        "inspector" => (&PERSONNEL, &INSPECTED, "t1.citizen_id = t2.legal_representative_id"),
        _ => (&CITIZENS, &HOUSEHOLDS, "t1.citizen_id = t2.head_citizen_id"),
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn query(rng: &mut StdRng, principal: &str) -> String {
    let (a, b, join_on) = tables_of(principal);
    let kind = *pick(rng, &["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
    let extra = match rng.random_range(0..4) {
        0 => format!(" AND t2.{} = '002192577057'", b.key),
        1 => format!(" AND t2.{} = '00070'", b.ward),
        _ => String::new(),
    };
    let third = if rng.random_bool(0.3) {
        format!(" LEFT JOIN {} t3 ON t3.{} = t1.{}", b.name, b.ward, a.ward)
    } else {
        String::new()
    };
    let from = format!("{} t1 {kind} {} t2 ON {join_on}{extra}{third}", a.name, b.name);
    let column = format!("t1.{}", pick(rng, a.other));
    let (select, group) = match rng.random_range(0..9) {
        0 => (
            format!("t1.{}, count(*) OVER (PARTITION BY t1.{})", a.ward, a.ward),
            String::new(),
        ),
        1 => (
            format!(
                "t1.{}, (SELECT count(*) FROM {} s WHERE s.{} = t1.{}) AS n",
                a.key, b.name, b.ward, a.ward
            ),
            String::new(),
        ),
        2 => (format!("{column}, t2.{}", pick(rng, b.other)), String::new()),
        3 => (
            format!("t1.{}, count(*) AS n", a.ward),
            format!(" GROUP BY t1.{}", a.ward),
        ),
        4 => (format!("DISTINCT t1.{}, t2.{}", a.ward, b.ward), String::new()),
        5 => (
            format!(
                "upper(CAST(t1.{} AS VARCHAR)) AS u, length(CAST(t2.{} AS VARCHAR)) AS l",
                a.key, b.key
            ),
            String::new(),
        ),
        6 => (
            format!(
                "CASE WHEN t1.{} LIKE 'p_%' THEN 'token' WHEN t1.{} IS NULL THEN 'none' ELSE 'raw' END AS k, count(*) AS n",
                a.key, a.key
            ),
            " GROUP BY 1".to_owned(),
        ),
        7 => (
            format!(
                "t1.{}, rank() OVER (PARTITION BY t2.{} ORDER BY t1.{}) AS r",
                a.key, b.ward, a.key
            ),
            String::new(),
        ),
        _ => (format!("t1.{}, t2.{}", a.key, b.key), String::new()),
    };
    let filter = match rng.random_range(0..7) {
        0 => format!(" WHERE t1.{w} = '00070' AND t1.{w} = '00004'", w = a.ward),
        1 => format!(" WHERE t2.{} IS NULL", b.key),
        2 => format!(" WHERE t1.{} IN (SELECT {} FROM {})", a.ward, b.ward, b.name),
        3 => format!(
            " WHERE EXISTS (SELECT 1 FROM {} s WHERE s.{} = t1.{})",
            b.name, b.key, a.key
        ),
        4 => format!(" WHERE t1.{} LIKE '0%' OR t2.{} <> 'x'", a.key, b.ward),
        _ => String::new(),
    };
    let sql = format!("SELECT {select} FROM {from}{filter}{group}");
    match rng.random_range(0..6) {
        // Set operations and CTEs around the same query.
        0 if group.is_empty() && !select.starts_with("DISTINCT") => {
            format!("WITH q AS ({sql}) SELECT * FROM q UNION ALL SELECT * FROM q")
        }
        1 => format!("SELECT count(*) AS n FROM ({sql}) q"),
        _ => sql,
    }
}

/// The review's examples (issue 14, findings 18–20), run before the generated ones.
const FOUND: &[(&str, &str)] = &[
    (
        "ward-officer",
        "SELECT c1.current_ward_code, count(*) OVER (PARTITION BY c1.current_ward_code) FROM population.citizens c1 \
         FULL JOIN population.households h2 ON c1.citizen_id = h2.head_citizen_id AND h2.head_citizen_id = '002192577057' \
         LEFT JOIN population.households h3 ON c1.household_id = h3.household_id",
    ),
    (
        "ward-officer",
        "SELECT r1.holder_citizen_id, (SELECT count(*) FROM land.rights r2 WHERE r2.ward_code = r1.ward_code) FROM land.rights r1",
    ),
    (
        "ward-officer",
        "SELECT count(*) FROM population.citizens WHERE sex = 'male' AND sex = 'female'",
    ),
    (
        "population-owner",
        "SELECT count(*) FROM population.citizens WHERE sex = 'male' AND sex = 'female'",
    ),
    (
        "land-officer",
        "SELECT p.parcel_id, (SELECT count(*) FROM land.rights) AS n FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id",
    ),
    (
        "ward-officer",
        "SELECT c.citizen_id, (SELECT max(area_m2) FROM land.parcels) AS biggest FROM population.citizens c \
         LEFT JOIN land.rights r ON r.holder_citizen_id = c.citizen_id WHERE c.sex = (SELECT min(sex) FROM population.citizens)",
    ),
];

#[tokio::test]
async fn generated_joins_windows_and_subqueries_answer_as_the_copy_with_the_announced_schema() {
    // The registrar's grant on citizens as a plain one: the copy has no notion of lookup-only (whose
    // refusals `lookup.rs` tests), and the joins generated here are the shapes to compare.
    let catalog = crate::common::variant("generated-plain-registrar", |spec| {
        spec.grants.get_mut("registrar-representatives").unwrap().lookup = None;
        spec.quotas.clear();
    });
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut answered = 0;
    let mut queries: Vec<(&str, String)> = FOUND.iter().map(|(p, sql)| (*p, (*sql).to_owned())).collect();
    for principal in PRINCIPALS {
        queries.extend((0..per_principal()).map(|_| (principal, query(&mut rng, principal))));
    }
    let total = queries.len();
    for (principal, sql) in queries {
        let session = as_(&catalog, principal);
        {
            let want = expected(principal, &sql).await;
            let described = session.describe(&sql).await;
            let got = match session.sql(&sql).await {
                Ok(stream) => {
                    let schema = stream.schema();
                    let batches = stream.collect().await;
                    if let (Ok(batches), Ok(described)) = (&batches, &described) {
                        assert_eq!(described.schema, schema, "{principal}: announced schema: {sql}");
                        for batch in batches {
                            assert_eq!(batch.schema(), schema, "{principal}: batch schema: {sql}");
                        }
                    }
                    batches.map(|b| lines(&b)).map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            match (&got, &want) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(got, want, "{principal}: {sql}");
                    answered += 1;
                }
                (Err(got), Err(_)) => assert!(!got.contains("internal error"), "{principal}: {sql}: {got}"),
                _ => panic!("{principal}: {sql}\n governed: {got:?}\n copy: {want:?}"),
            }
        }
    }
    eprintln!("generated queries: {answered} of {total} answered, the rest refused alike by both");
    assert!(
        answered > per_principal(),
        "most generated queries should run: {answered}"
    );
}
