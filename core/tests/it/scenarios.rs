//! The six scenarios of domain.md §5, run as the demo principals on the demo data, each compared
//! with the same query over the principal's pre-filtered, pre-masked copy.

use std::collections::HashMap;
use std::sync::Mutex;

use lienthong::datafusion::prelude::SessionContext;

use crate::common::{as_, demo, lines, run};

/// The copy of what `principal` may see (built once per test run).
pub async fn reference_of(principal: &str) -> SessionContext {
    static CACHE: Mutex<Option<HashMap<String, SessionContext>>> = Mutex::new(None);
    if let Some(ctx) = CACHE.lock().unwrap().get_or_insert_with(HashMap::new).get(principal) {
        return ctx.clone();
    }
    let dir = crate::common::demo_dir();
    let raw = lienthong_fuzz::oracle::raw_context(dir, crate::common::SECRET)
        .await
        .unwrap();
    let ctx = lienthong_fuzz::oracle::copy(&raw, dir, principal).await.unwrap();
    CACHE
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(principal.to_owned(), ctx.clone());
    ctx
}

/// The rows of `sql` over the copy, or the error.
pub async fn expected(principal: &str, sql: &str) -> Result<Vec<String>, String> {
    let ctx = reference_of(principal).await;
    match ctx.sql(sql).await {
        Ok(frame) => frame.collect().await.map(|b| lines(&b)).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `sql` as `principal` on the engine and on the copy; same rows, or both refuse, or the
/// engine refuses a read of a lookup-only table that does not name its keys (stricter than the
/// copy, which has every row the grant covers). Returns the rows.
pub async fn same_as_copy(principal: &str, sql: &str) -> Vec<String> {
    let (catalog, _) = demo();
    let session = as_(&catalog, principal);
    let governed = run(&session, sql).await.map(|b| lines(&b));
    let expected = expected(principal, sql).await;
    match (governed, expected) {
        (Ok(got), Ok(want)) => {
            assert_eq!(got, want, "{principal}: {sql}");
            got
        }
        (Err(_), Err(_)) => Vec::new(),
        (Err(refused), Ok(_))
            if refused.contains("may only be looked up by") || refused.contains("may only be compared") =>
        {
            Vec::new()
        }
        (got, want) => panic!("{principal}: {sql}\n governed: {got:?}\n copy: {want:?}"),
    }
}

#[tokio::test]
async fn paperless_procedure_ward_officer_checks_identity_residence_and_rights_in_the_ward() {
    let sql = "SELECT c.citizen_id, c.full_name, c.current_ward_code, c.phone, r.parcel_id, p.area_m2 \
               FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id \
               JOIN land.parcels p ON p.parcel_id = r.parcel_id";
    let rows = same_as_copy("ward-officer", sql).await;
    assert!(!rows.is_empty(), "the ward has holders of parcels");
    assert!(rows.iter().all(|r| r.contains("| 00070 ")), "{rows:?}");
    assert!(rows.iter().all(|r| r.contains("*******")), "phones masked: {rows:?}");
    // Ethnicity and religion do not exist for the officer.
    let (catalog, _) = demo();
    let error = run(
        &as_(&catalog, "ward-officer"),
        "SELECT ethnicity FROM population.citizens",
    )
    .await
    .unwrap_err();
    assert!(
        !error.contains("ethnicity") || error.contains("No field named ethnicity"),
        "{error}"
    );
}

#[tokio::test]
async fn business_check_registrar_verifies_legal_representatives_of_the_province() {
    let (catalog, _) = demo();
    let registrar = as_(&catalog, "business-registrar");
    // The register of citizens cannot be read: the registrar looks people up by ID, or through an
    // enterprise it names, and only compares what the application says with the name and birth
    // date on record.
    for sql in [
        "SELECT citizen_id, full_name, date_of_birth FROM population.citizens",
        "SELECT e.enterprise_code, c.permanent_ward_code FROM business.enterprises e \
         JOIN population.citizens c ON c.citizen_id = e.legal_representative_id",
    ] {
        let error = run(&registrar, sql).await.unwrap_err();
        assert!(error.starts_with("denied"), "{sql}: {error}");
    }
    let enterprises = same_as_copy(
        "business-registrar",
        "SELECT enterprise_code, legal_representative_id FROM business.enterprises ORDER BY 1 LIMIT 3",
    )
    .await;
    assert_eq!(enterprises.len(), 3);
    let owner = as_(&catalog, "population-owner");
    for row in enterprises {
        let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        let (code, representative) = (cells[0], cells[1]);
        let record = lines(
            &run(
                &owner,
                &format!(
                    "SELECT full_name, CAST(date_of_birth AS VARCHAR) FROM population.citizens WHERE citizen_id = '{representative}'"
                ),
            )
            .await
            .unwrap(),
        );
        let cells: Vec<&str> = record[0].split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        let (name, born) = (cells[0], cells[1]);
        let sql = format!(
            "SELECT e.enterprise_code, c.permanent_ward_code, c.full_name = '{name}' AS name_matches, \
             c.date_of_birth = DATE '{born}' AS birth_matches, c.full_name = 'Nguyễn Văn Sai' AS wrong_name \
             FROM business.enterprises e JOIN population.citizens c ON c.citizen_id = e.legal_representative_id \
             WHERE e.enterprise_code = '{code}'"
        );
        let rows = same_as_copy("business-registrar", &sql).await;
        assert_eq!(rows.len(), 1, "{sql}");
        assert!(rows[0].contains("| true         | true          | false"), "{rows:?}");
        assert!(!rows[0].contains(name), "the name is compared, never read: {rows:?}");
        let by_id = format!(
            "SELECT permanent_ward_code, full_name = '{name}' AS name_matches FROM population.citizens \
             WHERE citizen_id = '{representative}'"
        );
        assert_eq!(same_as_copy("business-registrar", &by_id).await.len(), 1);
    }
}

#[tokio::test]
async fn conflict_of_interest_inspector_joins_servants_and_representatives_through_pseudonyms() {
    let sql = "SELECT p.personnel_no, p.citizen_id, e.enterprise_code FROM civil_servants.personnel p \
               JOIN business.enterprises e ON e.legal_representative_id = p.citizen_id";
    let rows = same_as_copy("inspector", sql).await;
    assert!(!rows.is_empty(), "the generator links some servants to enterprises");
    assert!(rows.iter().all(|r| r.contains("p_")), "{rows:?}");
    let sql = "SELECT s.enterprise_code, p.personnel_no FROM business.shareholders s \
               JOIN civil_servants.personnel p ON p.citizen_id = s.holder_citizen_id";
    same_as_copy("inspector", sql).await;
}

#[tokio::test]
async fn statistics_are_aggregates_with_small_groups_suppressed() {
    let (catalog, _) = demo();
    let statistician = as_(&catalog, "statistician");
    for (sql, raw) in [
        (
            "SELECT current_province_code, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2",
            "SELECT current_province_code, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2 HAVING count(*) >= 10",
        ),
        (
            "SELECT current_ward_code, count(*) AS n FROM population.citizens WHERE current_province_code = '01' GROUP BY current_ward_code",
            "SELECT current_ward_code, count(*) AS n FROM population.citizens WHERE current_province_code = '01' GROUP BY current_ward_code HAVING count(*) >= 10",
        ),
        (
            "SELECT date_part('year', date_of_birth) AS born, count(*) AS n FROM population.citizens GROUP BY 1",
            "SELECT date_part('year', date_trunc('year', date_of_birth)) AS born, count(*) AS n FROM population.citizens GROUP BY 1 HAVING count(*) >= 10",
        ),
    ] {
        let got = lines(&run(&statistician, sql).await.unwrap());
        let want = expected("population-owner", raw).await.unwrap();
        assert_eq!(got, want, "{sql}");
        assert!(!got.is_empty());
    }
    let denied = run(&statistician, "SELECT current_ward_code FROM population.citizens")
        .await
        .unwrap_err();
    assert!(denied.contains("aggregate"), "{denied}");
    // A group of one is not shown.
    let one = run(&statistician, "SELECT count(*) FROM population.citizens WHERE current_ward_code = '00070' AND sex = 'F' AND date_of_birth = DATE '1990-01-01'").await.unwrap();
    assert_eq!(crate::common::row_count(&one), 0);
}

#[tokio::test]
async fn land_planning_land_officer_sees_parcels_of_the_province_with_holders_pseudonymised() {
    let sql = "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id \
               FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id";
    let rows = same_as_copy("land-officer", sql).await;
    assert!(!rows.is_empty());
}

#[tokio::test]
async fn who_looked_at_my_data_the_owner_finds_every_lookup_of_a_citizen() {
    let (catalog, audit) = demo();
    let owner = as_(&catalog, "population-owner");
    let someone = lines(
        &run(
            &owner,
            "SELECT citizen_id FROM population.citizens WHERE current_ward_code = '00070' ORDER BY citizen_id LIMIT 1",
        )
        .await
        .unwrap(),
    );
    let id = someone[0].trim_matches(|c| c == '|' || c == ' ').to_owned();
    let officer = as_(&catalog, "ward-officer");
    run(
        &officer,
        &format!("SELECT full_name FROM population.citizens WHERE citizen_id = '{id}'"),
    )
    .await
    .unwrap();
    run(
        &officer,
        "SELECT full_name FROM population.citizens WHERE citizen_id = '000000000000'",
    )
    .await
    .unwrap();
    let digest = catalog.literal_digest(&id);
    let hits: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| {
            r["literal_digests"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == &digest))
        })
        .collect();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["principal"], "ward-officer");
    assert_eq!(hits[0]["agency"], "000.70.99.H26");
    assert_eq!(hits[0]["purpose"], "tthc");
}
