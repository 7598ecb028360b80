//! Lookup-only grants, attacked: the business registrar may read a citizen only by naming the
//! citizen's ID. Every way to read the register instead (scans, ranges, patterns, keys computed from
//! data, joins with a table that lists IDs, subqueries, CTEs, unions, windows, an error raised on a
//! row nobody named) is refused before anything runs; lookups give the owner's copy's rows.

use lienthong::Catalog;

use crate::common::{as_, lines, row_count, run, variant};

/// The demo catalog with the registrar's grant on population.citizens lookup-only (3 keys).
fn registrar_lookups() -> Catalog {
    variant("lookup-only-representatives", |spec| {
        let grant = spec.grants.get_mut("registrar-representatives").unwrap();
        grant.lookup = Some(lienthong::spec::Lookup {
            by: vec!["citizen_id".into()],
            max_keys: Some(3),
            verify: Vec::new(),
        });
    })
}

/// The demo catalog with the registrar's grant on population.citizens a plain grant (as it was
/// before the demo made it lookup-only): the answers lookups are compared with.
fn registrar_plain() -> Catalog {
    variant("plain-representatives", |spec| {
        spec.grants.get_mut("registrar-representatives").unwrap().lookup = None;
        spec.quotas.clear();
    })
}

/// Citizen IDs (the owner's read, not the registrar's).
async fn some_ids(n: usize) -> Vec<String> {
    crate::common::citizen_ids(n).await
}

const REFUSED: &[(&str, &str)] = &[
    ("a scan", "SELECT citizen_id, full_name FROM population.citizens"),
    ("a count", "SELECT count(*) FROM population.citizens"),
    (
        "a range",
        "SELECT full_name FROM population.citizens WHERE citizen_id > '0'",
    ),
    (
        "a pattern",
        "SELECT full_name FROM population.citizens WHERE citizen_id LIKE '001%'",
    ),
    (
        "a condition on another column",
        "SELECT citizen_id FROM population.citizens WHERE full_name = 'Lê Gia Dũng'",
    ),
    (
        "a join with a table that lists IDs",
        "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c ON c.citizen_id = e.legal_representative_id",
    ),
    (
        "keys from a subquery",
        "SELECT full_name FROM population.citizens WHERE citizen_id IN (SELECT legal_representative_id FROM business.enterprises)",
    ),
    (
        "a key from a scalar subquery",
        "SELECT full_name FROM population.citizens WHERE citizen_id = (SELECT min(legal_representative_id) FROM business.enterprises)",
    ),
    (
        "a correlated EXISTS",
        "SELECT e.name FROM business.enterprises e WHERE EXISTS (SELECT 1 FROM population.citizens c WHERE c.citizen_id = e.legal_representative_id)",
    ),
    (
        "a CTE read whole",
        "WITH c AS (SELECT * FROM population.citizens) SELECT count(*) FROM c",
    ),
    (
        "a union",
        "SELECT citizen_id FROM population.citizens WHERE citizen_id = '{1}' UNION ALL SELECT citizen_id FROM population.citizens",
    ),
    (
        "a window before the key",
        "SELECT * FROM (SELECT citizen_id, count(*) OVER () AS n FROM population.citizens) WHERE citizen_id = '{1}'",
    ),
    (
        "a limit before the key",
        "SELECT * FROM (SELECT citizen_id FROM population.citizens ORDER BY full_name LIMIT 1) WHERE citizen_id = '{1}'",
    ),
    (
        "an error raised on a row nobody named",
        "SELECT full_name FROM population.citizens WHERE citizen_id = '{1}' AND 1 / (CASE WHEN full_name LIKE 'A%' THEN 0 ELSE 1 END) = 1",
    ),
    (
        "a computed column before the key",
        "SELECT * FROM (SELECT citizen_id, upper(full_name) AS n FROM population.citizens) WHERE citizen_id = '{1}'",
    ),
    (
        "too many keys",
        "SELECT full_name FROM population.citizens WHERE citizen_id IN ('{1}', '{2}', '{3}', '{4}')",
    ),
    (
        "a key OR another column",
        "SELECT full_name FROM population.citizens WHERE citizen_id = '{1}' OR full_name = 'Lê Gia Dũng'",
    ),
    (
        "too many keys combined with OR",
        "SELECT full_name FROM population.citizens WHERE citizen_id = '{1}' OR citizen_id = '{2}' OR citizen_id = '{3}' OR citizen_id = '{4}'",
    ),
    (
        "keys from a generated series, joined",
        "SELECT c.full_name FROM generate_series(1, 1000) AS g \
         JOIN population.citizens c ON c.citizen_id = lpad(CAST(g.value AS VARCHAR), 12, '0')",
    ),
    (
        "keys from a generated series, in a subquery",
        "SELECT full_name FROM population.citizens WHERE citizen_id IN \
         (SELECT lpad(CAST(value AS VARCHAR), 12, '0') FROM generate_series(1, 1000))",
    ),
    (
        "keys from an unnested array, joined",
        "SELECT c.full_name FROM unnest(ARRAY['{1}', '{2}']) AS u(id) JOIN population.citizens c ON c.citizen_id = u.id",
    ),
    (
        "keys from a VALUES list, joined",
        "SELECT c.full_name FROM (VALUES ('{1}'), ('{2}')) AS v(id) JOIN population.citizens c ON c.citizen_id = v.id",
    ),
    (
        "a negated list",
        "SELECT full_name FROM population.citizens WHERE citizen_id NOT IN ('{1}')",
    ),
];

fn fill(sql: &str, ids: &[String]) -> String {
    let mut sql = sql.to_owned();
    for (i, id) in ids.iter().enumerate() {
        sql = sql.replace(&format!("{{{}}}", i + 1), id);
    }
    sql
}

#[tokio::test]
async fn every_way_to_read_the_register_through_a_lookup_only_grant_is_refused() {
    let catalog = registrar_lookups();
    let ids = some_ids(4).await;
    let registrar = as_(&catalog, "business-registrar");
    for (what, sql) in REFUSED {
        let sql = fill(sql, &ids);
        let error = run(&registrar, &sql).await.expect_err(what);
        assert!(error.starts_with("denied"), "{what}: {error}");
        assert!(
            !ids.iter().any(|id| error.contains(id.as_str())),
            "{what}: the refusal repeats a key: {error}"
        );
    }
    // A refusal does not depend on whether the key exists.
    let absent = run(
        &registrar,
        "SELECT full_name FROM population.citizens WHERE citizen_id > '999999999998'",
    )
    .await
    .unwrap_err();
    let present = run(
        &registrar,
        &format!(
            "SELECT full_name FROM population.citizens WHERE citizen_id > '{}'",
            ids[0]
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(absent, present);
}

#[tokio::test]
async fn lookups_by_named_keys_give_the_rows_the_plain_grant_gives() {
    let catalog = registrar_lookups();
    let plain = registrar_plain();
    let ids = some_ids(3).await;
    let allowed = [
        "SELECT citizen_id, full_name, date_of_birth FROM population.citizens WHERE citizen_id = '{1}'",
        "SELECT full_name FROM population.citizens WHERE '{2}' = citizen_id",
        "SELECT citizen_id, full_name FROM population.citizens WHERE citizen_id IN ('{1}', '{2}', '{3}')",
        "SELECT citizen_id, full_name FROM population.citizens WHERE citizen_id = '{1}' OR '{2}' = citizen_id ORDER BY 1",
        "SELECT c.full_name, c.date_of_birth FROM population.citizens c WHERE c.citizen_id = '{3}' AND c.date_of_birth > DATE '1900-01-01'",
        "WITH c AS (SELECT * FROM population.citizens WHERE citizen_id = '{1}') SELECT full_name FROM c",
        "SELECT e.name, c.full_name FROM population.citizens c JOIN business.enterprises e \
         ON e.legal_representative_id = c.citizen_id WHERE c.citizen_id IN ('{1}', '{2}')",
        "SELECT full_name FROM population.citizens WHERE citizen_id = '000000000000'",
    ];
    for sql in allowed {
        let sql = fill(sql, &ids);
        let looked_up = run(&as_(&catalog, "business-registrar"), &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let expected = run(&as_(&plain, "business-registrar"), &sql).await.unwrap();
        assert_eq!(lines(&looked_up), lines(&expected), "{sql}");
    }
    let one = run(
        &as_(&catalog, "business-registrar"),
        &fill(
            "SELECT full_name FROM population.citizens WHERE citizen_id = '{1}'",
            &ids,
        ),
    )
    .await
    .unwrap();
    assert_eq!(row_count(&one), 1);
    // Another principal's grant on the same table is untouched.
    let ward = run(
        &as_(&catalog, "ward-officer"),
        "SELECT count(*) FROM population.citizens",
    )
    .await;
    assert!(ward.is_ok(), "{ward:?}");
}

#[tokio::test]
async fn a_prepared_lookup_takes_its_key_as_a_parameter_and_a_prepared_range_is_refused() {
    use lienthong::datafusion::common::ScalarValue;
    let catalog = registrar_lookups();
    let plain = registrar_plain();
    let ids = some_ids(1).await;
    let registrar = as_(&catalog, "business-registrar");
    let param = [ScalarValue::Utf8(Some(ids[0].clone()))];
    let sql = "SELECT citizen_id, full_name FROM population.citizens WHERE citizen_id = $1";
    let looked_up = registrar.query(sql, &param).await.unwrap().collect().await.unwrap();
    let expected = as_(&plain, "business-registrar")
        .query(sql, &param)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(row_count(&looked_up), 1);
    assert_eq!(lines(&looked_up), lines(&expected));
    let Err(range) = registrar
        .query(
            "SELECT full_name FROM population.citizens WHERE citizen_id > $1",
            &param,
        )
        .await
    else {
        panic!("a range is refused");
    };
    assert!(range.to_string().starts_with("denied"), "{range}");
    let four: Vec<ScalarValue> = ["1", "2", "3", "4"]
        .iter()
        .map(|v| ScalarValue::Utf8(Some((*v).to_owned())))
        .collect();
    let Err(many) = registrar
        .query(
            "SELECT full_name FROM population.citizens WHERE citizen_id IN ($1, $2, $3, $4)",
            &four,
        )
        .await
    else {
        panic!("four parameters, three keys allowed");
    };
    assert!(many.to_string().starts_with("denied"), "{many}");
}

#[tokio::test]
async fn compare_only_columns_answer_true_or_false_and_are_never_read() {
    let catalog = variant("lookup-verify-representatives", |spec| {
        let grant = spec.grants.get_mut("registrar-representatives").unwrap();
        grant.lookup = Some(lienthong::spec::Lookup {
            by: vec!["citizen_id".into()],
            max_keys: Some(3),
            verify: vec!["full_name".into(), "date_of_birth".into()],
        });
    });
    let plain = registrar_plain();
    let id = &some_ids(1).await[0];
    let known = run(
        &as_(&plain, "business-registrar"),
        &format!("SELECT full_name FROM population.citizens WHERE citizen_id = '{id}'"),
    )
    .await
    .unwrap();
    let name = lines(&known)[0].trim_matches(|c| c == '|' || c == ' ').to_owned();
    let registrar = as_(&catalog, "business-registrar");
    let ask = |sql: String| {
        let registrar = &registrar;
        async move { run(registrar, &sql).await }
    };
    let matches = ask(format!(
        "SELECT citizen_id, full_name = '{name}' AS name_matches FROM population.citizens WHERE citizen_id = '{id}'"
    ))
    .await
    .unwrap();
    assert!(lines(&matches)[0].contains("true"), "{:?}", lines(&matches));
    let wrong = ask(format!(
        "SELECT full_name = 'Không Phải Tên' AS name_matches FROM population.citizens WHERE citizen_id = '{id}'"
    ))
    .await
    .unwrap();
    assert!(lines(&wrong)[0].contains("false"), "{:?}", lines(&wrong));
    let filtered = ask(format!(
        "SELECT citizen_id FROM population.citizens WHERE citizen_id = '{id}' AND full_name = '{name}'"
    ))
    .await
    .unwrap();
    assert_eq!(row_count(&filtered), 1);
    for (what, sql) in [
        (
            "read",
            format!("SELECT full_name FROM population.citizens WHERE citizen_id = '{id}'"),
        ),
        (
            "star",
            format!("SELECT * FROM population.citizens WHERE citizen_id = '{id}'"),
        ),
        (
            "a function of it",
            format!("SELECT length(full_name) FROM population.citizens WHERE citizen_id = '{id}'"),
        ),
        (
            "a pattern",
            format!("SELECT citizen_id FROM population.citizens WHERE citizen_id = '{id}' AND full_name LIKE 'A%'"),
        ),
        (
            "a range",
            format!("SELECT date_of_birth > DATE '1980-01-01' FROM population.citizens WHERE citizen_id = '{id}'"),
        ),
        (
            "sorted by it",
            format!("SELECT citizen_id FROM population.citizens WHERE citizen_id = '{id}' ORDER BY full_name"),
        ),
        (
            "compared with data",
            format!("SELECT full_name = citizen_id FROM population.citizens WHERE citizen_id = '{id}'"),
        ),
        (
            "compared in a subquery",
            format!(
                "SELECT citizen_id FROM population.citizens c WHERE citizen_id = '{id}' \
                 AND EXISTS (SELECT 1 FROM business.enterprises e WHERE e.name = c.full_name)"
            ),
        ),
        (
            "through a CTE",
            format!(
                "WITH c AS (SELECT full_name AS n FROM population.citizens WHERE citizen_id = '{id}') SELECT n FROM c"
            ),
        ),
    ] {
        let error = ask(sql).await.expect_err(what);
        assert!(error.starts_with("denied"), "{what}: {error}");
        assert!(!error.contains(&name), "{what}: {error}");
    }
}

#[tokio::test]
async fn another_principal_and_table_the_land_officer_looks_up_parcels_by_id_only() {
    let catalog = variant("lookup-only-parcels", |spec| {
        spec.grants.get_mut("land-officer-parcels").unwrap().lookup = Some(lienthong::spec::Lookup {
            by: vec!["parcel_id".into()],
            max_keys: Some(2),
            verify: vec!["area_m2".into()],
        });
    });
    let (plain, _) = crate::common::demo();
    let first = run(
        &as_(&plain, "land-officer"),
        "SELECT parcel_id FROM land.parcels ORDER BY parcel_id LIMIT 1",
    )
    .await
    .unwrap();
    let id = lines(&first)[0].trim_matches(|c| c == '|' || c == ' ').to_owned();
    let officer = as_(&catalog, "land-officer");
    for sql in [
        "SELECT ward_code, count(*) FROM land.parcels GROUP BY ward_code".to_owned(),
        "SELECT sum(area_m2) FROM land.parcels".to_owned(),
        "SELECT p.ward_code FROM land.rights r JOIN land.parcels p ON p.parcel_id = r.parcel_id".to_owned(),
        "SELECT ward_code FROM land.parcels WHERE parcel_id IN (SELECT parcel_id FROM land.rights)".to_owned(),
        "SELECT ward_code FROM land.parcels WHERE parcel_id BETWEEN 'a' AND 'z'".to_owned(),
        format!("SELECT area_m2 FROM land.parcels WHERE parcel_id = '{id}'"),
        format!("SELECT round(area_m2) FROM land.parcels WHERE parcel_id = '{id}'"),
        format!("SELECT area_m2 > 0 FROM land.parcels WHERE parcel_id = '{id}'"),
    ] {
        let error = run(&officer, &sql).await.expect_err(&sql);
        assert!(error.starts_with("denied"), "{sql}: {error}");
    }
    let sql = format!("SELECT parcel_id, ward_code FROM land.parcels WHERE parcel_id = '{id}'");
    let looked_up = run(&officer, &sql).await.unwrap();
    assert_eq!(row_count(&looked_up), 1);
    assert!(lines(&looked_up)[0].contains(&id));
    let compared = run(
        &officer,
        &format!("SELECT area_m2 = 0 AS empty FROM land.parcels WHERE parcel_id = '{id}'"),
    )
    .await
    .unwrap();
    assert!(lines(&compared)[0].contains("false"), "{:?}", lines(&compared));
}

/// Enterprise codes of Hà Nội enterprises (the registrar lists them under its plain grant).
async fn enterprise_codes(n: usize) -> Vec<String> {
    crate::common::values(
        "business-registrar",
        &format!("SELECT enterprise_code FROM business.enterprises ORDER BY enterprise_code LIMIT {n}"),
    )
    .await
}

#[tokio::test]
async fn a_key_bound_through_a_row_named_by_its_primary_key_is_looked_up() {
    let catalog = registrar_lookups();
    let plain = registrar_plain();
    let codes = enterprise_codes(4).await;
    let registrar = as_(&catalog, "business-registrar");
    // The representative of enterprises the query names by code: one citizen per enterprise.
    let allowed = [
        format!(
            "SELECT e.enterprise_code, c.full_name, c.permanent_ward_code FROM business.enterprises e \
             JOIN population.citizens c ON c.citizen_id = e.legal_representative_id WHERE e.enterprise_code = '{}'",
            codes[0]
        ),
        format!(
            "SELECT e.enterprise_code, c.full_name FROM population.citizens c \
             JOIN business.enterprises e ON e.legal_representative_id = c.citizen_id \
             WHERE e.enterprise_code IN ('{}', '{}', '{}') ORDER BY 1",
            codes[0], codes[1], codes[2]
        ),
        format!(
            "SELECT c.full_name FROM (SELECT * FROM business.enterprises WHERE enterprise_code = '{}') e \
             JOIN population.citizens c ON c.citizen_id = e.legal_representative_id",
            codes[1]
        ),
        format!(
            "SELECT e.name, c.full_name FROM business.enterprises e LEFT JOIN population.citizens c \
             ON c.citizen_id = e.legal_representative_id WHERE e.enterprise_code = '{}'",
            codes[2]
        ),
    ];
    for sql in &allowed {
        let looked_up = run(&registrar, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let expected = run(&as_(&plain, "business-registrar"), sql).await.unwrap();
        assert_eq!(lines(&looked_up), lines(&expected), "{sql}");
        assert!(!lines(&looked_up).is_empty(), "{sql}");
    }
    // Not bound: a column that is not the primary key, more rows than the cap, the citizens kept
    // whole by an outer join, a range of codes, a cast on the join, a key pinned only in ON.
    let refused = [
        "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c \
         ON c.citizen_id = e.legal_representative_id WHERE e.head_office_province_code = '01'"
            .to_owned(),
        format!(
            "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c \
             ON c.citizen_id = e.legal_representative_id WHERE e.enterprise_code IN ('{}', '{}', '{}', '{}')",
            codes[0], codes[1], codes[2], codes[3]
        ),
        format!(
            "SELECT c.full_name FROM population.citizens c LEFT JOIN business.enterprises e \
             ON e.legal_representative_id = c.citizen_id AND e.enterprise_code = '{}'",
            codes[0]
        ),
        "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c \
         ON c.citizen_id = e.legal_representative_id WHERE e.enterprise_code > '0'"
            .to_owned(),
        format!(
            "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c \
             ON upper(c.citizen_id) = e.legal_representative_id WHERE e.enterprise_code = '{}'",
            codes[0]
        ),
        format!(
            "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c \
             ON c.citizen_id = e.legal_representative_id AND e.enterprise_code = '{}'",
            codes[0]
        ),
        format!(
            "SELECT c.full_name FROM business.enterprises e FULL JOIN population.citizens c \
             ON c.citizen_id = e.legal_representative_id WHERE e.enterprise_code = '{}'",
            codes[0]
        ),
    ];
    for sql in &refused {
        let error = run(&registrar, sql).await.expect_err(sql);
        assert!(error.starts_with("denied"), "{sql}: {error}");
    }
}
