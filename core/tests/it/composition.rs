//! Several rules on one table, attacked: grants under `combine: union` (each row seen only as
//! the grants that cover it show it; aggregate-only rows never row-level), and masks from a grant
//! and a tag rule (the stricter wins, whatever the rules' ids). Answers are compared with the
//! owner's copy, filtered and masked by hand.

use lienthong::spec::{Combine, Mask};

use crate::common::{as_, lines, run, variant};
use crate::scenarios::expected;

const KEEP_LAST_3: &str = "CASE WHEN character_length(phone) <= 3 THEN repeat('*', character_length(phone)) \
    ELSE concat(repeat('*', character_length(phone) - 3), right(phone, 3)) END";

/// The ward officer's residents grant, plus a second one on ward 00004 with fewer columns and the
/// phone redacted; citizens combine by union.
fn two_wards() -> lienthong::Catalog {
    variant("union-two-wards", |spec| {
        let mut other = spec.grants["ward-officer-residents"].clone();
        other.columns = vec!["citizen_id".into(), "sex".into(), "phone".into()];
        other.row_filter = Some("current_ward_code = '00004'".into());
        other.masks.insert("phone".into(), Mask::Redact);
        spec.grants.insert("ward-officer-neighbours".into(), other);
        citizens(spec).combine = Combine::Union;
    })
}

fn citizens(spec: &mut lienthong::spec::Catalog) -> &mut lienthong::spec::Table {
    crate::common::table_mut(spec, "population.citizens")
}

#[tokio::test]
async fn under_union_each_row_shows_only_what_the_grants_covering_it_give() {
    let catalog = two_wards();
    let officer = as_(&catalog, "ward-officer");
    let copy = |select: &str, filter: &str| {
        format!("SELECT {select} FROM population.citizens WHERE current_ward_code IN ('00070', '00004') {filter}")
    };
    let phone = format!("CASE WHEN current_ward_code = '00070' THEN {KEEP_LAST_3} ELSE '***' END");
    let name = "CASE WHEN current_ward_code = '00070' THEN full_name END";
    for (sql, want) in [
        (
            "SELECT citizen_id, full_name, sex, phone FROM population.citizens".to_owned(),
            copy(&format!("citizen_id, {name} AS full_name, sex, {phone} AS phone"), ""),
        ),
        // Predicates see the per-row values: no raw phone, no name of the other ward.
        (
            "SELECT citizen_id FROM population.citizens WHERE phone LIKE '09%' OR full_name IS NOT NULL".to_owned(),
            copy("citizen_id", &format!("AND ({phone} LIKE '09%' OR {name} IS NOT NULL)")),
        ),
        (
            "SELECT sex, count(*) AS n, count(full_name) AS named FROM population.citizens GROUP BY sex".to_owned(),
            format!(
                "SELECT sex, count(*) AS n, count({name}) AS named FROM population.citizens \
                 WHERE current_ward_code IN ('00070', '00004') GROUP BY sex"
            ),
        ),
    ] {
        let got = run(&officer, &sql).await.map(|b| lines(&b));
        let want = expected("population-owner", &want).await;
        assert_eq!(got, want, "{sql}");
        assert!(want.is_ok_and(|rows| !rows.is_empty()), "{sql}");
    }
    // The ward grant's masks never reach the neighbours' rows, nor its columns.
    let leaks = run(
        &officer,
        "SELECT count(*) FROM population.citizens WHERE current_ward_code = '00004' AND (full_name IS NOT NULL OR phone <> '***')",
    )
    .await
    .unwrap();
    assert_eq!(lines(&leaks), ["| 0        |"]);
}

#[tokio::test]
async fn under_union_an_aggregate_only_grant_does_not_become_row_level() {
    let catalog = variant("union-aggregate-and-rows", |spec| {
        let mut ward = spec.grants["ward-officer-residents"].clone();
        ward.to = spec.grants["statistician-population"].to.clone();
        ward.purposes = vec!["statistics".into()];
        ward.row_filter = Some("current_ward_code = '00070'".into());
        spec.grants.insert("statistician-one-ward".into(), ward);
        citizens(spec).combine = Combine::Union;
    });
    let statistician = as_(&catalog, "statistician");
    // Row-level reads see the one ward, with the row-level grant's masks; nothing else.
    for (sql, want) in [
        (
            "SELECT citizen_id, phone FROM population.citizens",
            format!("SELECT citizen_id, {KEEP_LAST_3} AS phone FROM population.citizens WHERE current_ward_code = '00070'"),
        ),
        (
            "SELECT count(*) AS n FROM population.citizens",
            "SELECT count(*) AS n FROM population.citizens WHERE current_ward_code = '00070'".to_owned(),
        ),
        (
            "SELECT count(*) AS n FROM population.citizens WHERE current_ward_code <> '00070'",
            "SELECT count(*) AS n FROM population.citizens WHERE current_ward_code = '00070' AND current_ward_code <> '00070'"
                .to_owned(),
        ),
    ] {
        let got = run(&statistician, sql).await.map(|b| lines(&b));
        assert_eq!(got, expected("population-owner", &want).await, "{sql}");
    }
}

#[tokio::test]
async fn a_stricter_tag_rule_wins_over_a_grant_whatever_its_id() {
    for id in ["a-contact-rule", "z-contact-rule"] {
        let catalog = variant(&format!("keep-last-{id}"), |spec| {
            let mut rule = spec.tag_rules["sensitive-owner-only"].clone();
            rule.tag = "contact".into();
            rule.deny = false;
            rule.mask = Some(Mask::KeepLast(1));
            rule.except = None;
            spec.tag_rules.insert(id.into(), rule);
        });
        let officer = as_(&catalog, "ward-officer");
        let got = run(&officer, "SELECT citizen_id, phone FROM population.citizens")
            .await
            .map(|b| lines(&b));
        let want = expected(
            "population-owner",
            "SELECT citizen_id, CASE WHEN character_length(phone) <= 1 THEN repeat('*', character_length(phone)) \
             ELSE concat(repeat('*', character_length(phone) - 1), right(phone, 1)) END AS phone \
             FROM population.citizens WHERE current_ward_code = '00070'",
        )
        .await;
        assert_eq!(got, want, "{id}");
    }
}
