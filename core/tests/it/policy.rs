//! Policy resolution on the demo catalog: what each demo principal may see of each table.

use chrono::NaiveDate;
use lienthong::policy::{Caller, ColumnAccess, ColumnCase, Rows, TableAccess, resolve};
use lienthong::spec::{Catalog, Classification, Combine, Generalization, Mask};

fn demo() -> Catalog {
    lienthong_synth::demo_catalog::build(1).unwrap().0
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn access(catalog: &Catalog, who: &str, purpose: Option<&str>, table: &str) -> Option<TableAccess> {
    let caller = Caller {
        id: who,
        principal: catalog.principals.get(who),
        purpose,
        via: None,
    };
    let (database, table) = table.split_once('.').unwrap();
    resolve(catalog, &caller, database, table, today())
}

fn names(access: &TableAccess) -> Vec<&str> {
    access.columns.iter().map(|c| c.name.as_str()).collect()
}

fn mask_of<'a>(access: &'a TableAccess, column: &str) -> Option<&'a Mask> {
    access
        .columns
        .iter()
        .find(|c| c.name == column)
        .and_then(|c| c.masks.first())
}

#[test]
fn the_ward_officer_sees_residents_of_the_ward_without_sensitive_data_and_with_the_phone_masked() {
    let catalog = demo();
    let a = access(&catalog, "ward-officer", Some("tthc"), "population.citizens").unwrap();
    let columns = names(&a);
    for hidden in ["ethnicity", "religion", "blood_group", "email"] {
        assert!(
            !columns.contains(&hidden),
            "{hidden} must not exist for the ward officer"
        );
    }
    assert!(columns.contains(&"citizen_id") && columns.contains(&"full_name"));
    assert_eq!(mask_of(&a, "phone"), Some(&Mask::KeepLast(3)));
    assert_eq!(mask_of(&a, "citizen_id"), None);
    assert_eq!(a.rows, Rows::Every(vec!["current_ward_code = principal.ward".into()]));
    assert_eq!(a.grants, ["ward-officer-residents"]);
    assert!(
        a.tag_rules.is_empty(),
        "the grant does not reach the sensitive columns: {:?}",
        a.tag_rules
    );
}

#[test]
fn a_wrong_purpose_or_an_ungranted_table_is_nothing_at_all() {
    let catalog = demo();
    assert!(access(&catalog, "ward-officer", Some("statistics"), "population.citizens").is_none());
    assert!(access(&catalog, "ward-officer", None, "population.citizens").is_none());
    assert!(access(&catalog, "ward-officer", Some("tthc"), "civil_servants.personnel").is_none());
    assert!(access(&catalog, "ward-officer", Some("tthc"), "population.no_such_table").is_none());
    assert!(access(&catalog, "nobody", Some("tthc"), "population.citizens").is_none());
}

#[test]
fn the_statistician_gets_aggregates_only_with_birth_dates_generalised() {
    let catalog = demo();
    let a = access(&catalog, "statistician", Some("statistics"), "population.citizens").unwrap();
    assert_eq!(a.min_group_size, Some(10));
    assert_eq!(
        mask_of(&a, "date_of_birth"),
        Some(&Mask::Generalize(Generalization::Year))
    );
    assert_eq!(
        names(&a),
        ["date_of_birth", "sex", "current_ward_code", "current_province_code"]
    );
}

#[test]
fn the_inspector_sees_every_citizen_id_as_a_pseudonym_through_the_tag_rule() {
    let catalog = demo();
    let personnel = access(&catalog, "inspector", Some("inspection"), "civil_servants.personnel").unwrap();
    assert_eq!(mask_of(&personnel, "citizen_id"), Some(&Mask::Pseudonym));
    assert_eq!(personnel.tag_rules, ["citizen-ids-pseudonymous-for-inspection"]);
    assert_eq!(
        personnel.rows,
        Rows::Every(vec!["agency_province_code = principal.province".into()])
    );
    let enterprises = access(&catalog, "inspector", Some("inspection"), "business.enterprises").unwrap();
    assert_eq!(mask_of(&enterprises, "legal_representative_id"), Some(&Mask::Pseudonym));
    assert!(!names(&enterprises).contains(&"charter_capital_vnd"));
    let shareholders = access(&catalog, "inspector", Some("inspection"), "business.shareholders").unwrap();
    assert_eq!(mask_of(&shareholders, "holder_citizen_id"), Some(&Mask::Pseudonym));
    // The same rule does not touch another principal.
    let registrar = access(
        &catalog,
        "business-registrar",
        Some("business-registration"),
        "business.enterprises",
    )
    .unwrap();
    assert_eq!(mask_of(&registrar, "legal_representative_id"), None);
}

#[test]
fn the_public_sees_open_tables_only_and_the_owner_sees_sensitive_columns() {
    let catalog = demo();
    let wards = access(&catalog, "public", None, "reference.wards").unwrap();
    assert_eq!(
        names(&wards),
        ["ward_code", "ward_name", "ward_kind", "province_code", "province_name"]
    );
    assert!(access(&catalog, "public", None, "business.enterprise_register").is_some());
    assert!(access(&catalog, "public", None, "business.enterprises").is_none());
    assert!(access(&catalog, "public", None, "population.citizens").is_none());
    let owner = access(
        &catalog,
        "population-owner",
        Some("data-stewardship"),
        "population.citizens",
    )
    .unwrap();
    assert!(names(&owner).contains(&"ethnicity") && names(&owner).contains(&"religion"));
    assert_eq!(owner.rows, Rows::All);
}

#[test]
fn secret_tables_are_never_served_even_when_granted() {
    let mut catalog = demo();
    let citizens = catalog
        .databases
        .get_mut("population")
        .unwrap()
        .tables
        .get_mut("citizens")
        .unwrap();
    citizens.classification = Classification::Secret;
    assert!(
        access(
            &catalog,
            "population-owner",
            Some("data-stewardship"),
            "population.citizens"
        )
        .is_none()
    );
}

#[test]
fn grants_hold_only_between_their_dates() {
    let mut catalog = demo();
    let grant = catalog.grants.get_mut("owner-citizens").unwrap();
    grant.valid_until = NaiveDate::from_ymd_opt(2026, 11, 22);
    assert!(
        access(
            &catalog,
            "population-owner",
            Some("data-stewardship"),
            "population.citizens"
        )
        .is_none()
    );
    let grant = catalog.grants.get_mut("owner-citizens").unwrap();
    grant.valid_until = None;
    grant.valid_from = NaiveDate::from_ymd_opt(2026, 11, 23);
    assert!(
        access(
            &catalog,
            "population-owner",
            Some("data-stewardship"),
            "population.citizens"
        )
        .is_some()
    );
    catalog.grants.get_mut("owner-citizens").unwrap().valid_from = NaiveDate::from_ymd_opt(2026, 11, 24);
    assert!(
        access(
            &catalog,
            "population-owner",
            Some("data-stewardship"),
            "population.citizens"
        )
        .is_none()
    );
}

#[test]
fn several_grants_combine_strictly_unless_the_table_says_union() {
    let mut catalog = demo();
    // A second grant to the ward officer on the same table: a narrower one.
    let mut narrow = catalog.grants["ward-officer-residents"].clone();
    narrow.columns = vec!["citizen_id".into(), "phone".into()];
    narrow.row_filter = Some("date_of_death IS NULL".into());
    narrow.masks.insert("phone".into(), Mask::Redact);
    catalog.grants.insert("narrow".into(), narrow);
    let strict = access(&catalog, "ward-officer", Some("tthc"), "population.citizens").unwrap();
    assert_eq!(
        strict.columns,
        [
            ColumnAccess {
                name: "citizen_id".into(),
                masks: vec![],
                cases: vec![],
            },
            ColumnAccess {
                name: "phone".into(),
                masks: vec![Mask::Redact],
                cases: vec![],
            }
        ]
    );
    assert!(matches!(&strict.rows, Rows::Every(f) if f.len() == 2));

    crate::common::table_mut(&mut catalog, "population.citizens").combine = Combine::Union;
    let union = access(&catalog, "ward-officer", Some("tthc"), "population.citizens").unwrap();
    assert!(names(&union).contains(&"full_name"));
    assert!(matches!(&union.rows, Rows::Any(f) if f.len() == 2));
    // Each grant's masks hold on the rows that grant covers: the phone shows its last three
    // digits where the ward grant covers the row, and is redacted where only the narrow one does.
    let phone = union.columns.iter().find(|c| c.name == "phone").unwrap();
    assert_eq!(
        phone.cases,
        [
            ColumnCase {
                rows: Some("current_ward_code = principal.ward".into()),
                masks: vec![Mask::KeepLast(3)],
            },
            ColumnCase {
                rows: Some("date_of_death IS NULL".into()),
                masks: vec![Mask::Redact],
            },
        ]
    );
    // A column only the ward grant gives is NULL on rows only the narrow grant covers.
    let name = union.columns.iter().find(|c| c.name == "full_name").unwrap();
    assert_eq!(
        name.cases,
        [ColumnCase {
            rows: Some("current_ward_code = principal.ward".into()),
            masks: vec![],
        }]
    );
}

#[test]
fn an_aggregate_only_grant_never_becomes_row_level_through_a_union() {
    let mut catalog = demo();
    let mut ward = catalog.grants["ward-officer-residents"].clone();
    ward.to = catalog.grants["statistician-population"].to.clone();
    ward.purposes = vec!["statistics".into()];
    catalog.grants.insert("one-ward".into(), ward);
    for combine in [Combine::Strict, Combine::Union] {
        crate::common::table_mut(&mut catalog, "population.citizens").combine = combine;
        let a = access(&catalog, "statistician", Some("statistics"), "population.citizens").unwrap();
        match combine {
            // Strict: every filter, and still aggregates only.
            Combine::Strict => {
                assert_eq!(a.min_group_size, Some(10));
                assert!(matches!(&a.rows, Rows::Every(f) if f.len() == 1));
            }
            // Union: the row-level grant alone (its rows and columns), never all rows.
            Combine::Union => {
                assert_eq!(a.min_group_size, None);
                assert_eq!(a.rows, Rows::Any(vec!["current_ward_code = principal.ward".into()]));
                assert_eq!(a.grants, ["one-ward"]);
            }
        }
    }
}

#[test]
fn the_stricter_mask_wins_and_masks_that_cannot_be_ranked_both_apply() {
    use lienthong::policy::{at_least_as_strict, strictest};
    let keep = |n| Mask::KeepLast(n);
    assert_eq!(strictest(&[keep(3)], &[keep(1)]), [keep(1)]);
    assert_eq!(strictest(&[keep(1)], &[keep(3)]), [keep(1)]);
    assert_eq!(strictest(&[keep(3)], &[Mask::Redact]), [Mask::Redact]);
    assert_eq!(strictest(&[Mask::Nullify], &[Mask::Redact]), [Mask::Nullify]);
    assert_eq!(
        strictest(&[Mask::Pseudonym], &[Mask::Generalize(Generalization::Year)]),
        [Mask::Generalize(Generalization::Year), Mask::Pseudonym]
    );
    assert_eq!(
        strictest(&[keep(4)], &[Mask::Generalize(Generalization::Province)]),
        [Mask::Generalize(Generalization::Province), keep(4)]
    );
    assert!(at_least_as_strict(&[keep(1)], &[keep(3)]));
    assert!(!at_least_as_strict(&[keep(3)], &[keep(1)]));
    assert!(!at_least_as_strict(&[Mask::Pseudonym], &[keep(3)]));
    assert!(!at_least_as_strict(&[keep(3)], &[Mask::Pseudonym]));
    assert!(at_least_as_strict(&[keep(3), Mask::Pseudonym], &[keep(3)]));

    // A tag rule keeping one character tightens a grant keeping three, whatever the rule's id.
    let mut catalog = demo();
    for id in ["aaa-first", "zzz-last"] {
        catalog.tag_rules.retain(|k, _| !k.starts_with("phone-"));
        let mut rule = catalog.tag_rules.values().next().unwrap().clone();
        rule.tag = "contact".into();
        rule.deny = false;
        rule.mask = Some(keep(1));
        rule.to = None;
        rule.except = None;
        rule.purposes = Vec::new();
        catalog.tag_rules.insert(format!("phone-{id}"), rule);
        let a = access(&catalog, "ward-officer", Some("tthc"), "population.citizens").unwrap();
        assert_eq!(mask_of(&a, "phone"), Some(&keep(1)), "{id}");
    }
}

/// The population owner's node of the federated demo (keys and addresses are placeholders).
fn population_node() -> Catalog {
    let key = (
        "unused".to_owned(),
        "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
    );
    let names = [lienthong_synth::federated::LGSP, "mps", "hanoi_dae"];
    let keys = names.iter().map(|n| ((*n).to_owned(), key.clone())).collect();
    let urls = names
        .iter()
        .map(|n| ((*n).to_owned(), "grpc://127.0.0.1:9".to_owned()))
        .collect();
    lienthong_synth::federated::build(1, &keys, &urls)
        .unwrap()
        .into_iter()
        .find(|n| n.name == "mps")
        .unwrap()
        .catalog
}

#[test]
fn grants_to_callers_through_a_peer_select_only_them_and_local_grants_never_reach_them() {
    let catalog = population_node();
    let owner = catalog.principals.get("population-owner").unwrap().clone();
    let officer = lienthong::spec::Principal {
        agency: lienthong::spec::AgencyCode::parse("000.70.99.H26").unwrap(),
        roles: vec!["one-stop-officer".into()],
        attributes: [("ward", "00070"), ("province", "01")]
            .map(|(k, v)| (k.to_owned(), lienthong::spec::AttributeValue::String(v.to_owned())))
            .into(),
        credential: None,
        certificates: Vec::new(),
        description: None,
    };
    let resolve_as = |id: &str, principal: &lienthong::spec::Principal, via: Option<&str>| {
        let purpose = if id == "population-owner" {
            "data-stewardship"
        } else {
            "tthc"
        };
        let caller = Caller {
            id,
            principal: Some(principal),
            purpose: Some(purpose),
            via,
        };
        resolve(&catalog, &caller, "population", "citizens", today())
    };
    // The ward officer asserted by the LGSP: the owner's grant, with its ward filter.
    let through = resolve_as("ward-officer", &officer, Some("hanoi_lgsp")).expect("granted via the peer");
    assert!(matches!(through.rows, Rows::Every(_)), "{:?}", through.rows);
    // The same officer through another peer, or claiming to be local: nothing.
    assert!(resolve_as("ward-officer", &officer, Some("other_lgsp")).is_none());
    assert!(resolve_as("ward-officer", &officer, None).is_none());
    // A peer asserting the owner's own principal (its id, agency and roles) gets no local grant.
    let owner_local = resolve_as("population-owner", &owner, None);
    assert!(owner_local.is_some());
    assert!(resolve_as("population-owner", &owner, Some("hanoi_lgsp")).is_none());
}
