//! Enterprises, shareholders, agencies, civil servants and land: valid codes, existing people,
//! shares that add up, and civil servants who also run or own enterprises.

use std::collections::{HashMap, HashSet};

use lienthong_spec::AgencyCode;
use lienthong_synth::is_valid_tax_code;

use crate::data::{as_of, dates, day, floats, ints, parquet, query, required, strings, ward_provinces, years};

/// Citizen ID → (birth day, death day).
fn citizens() -> HashMap<String, (i32, Option<i32>)> {
    let c = parquet("population/citizens.parquet");
    let births = dates(&c, "date_of_birth");
    let deaths = dates(&c, "date_of_death");
    required(&c, "citizen_id")
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, (births[i].unwrap(), deaths[i])))
        .collect()
}

fn living_adult(people: &HashMap<String, (i32, Option<i32>)>, id: &str) {
    let (birth, death) = people.get(id).unwrap_or_else(|| panic!("citizen {id} does not exist"));
    assert!(death.is_none(), "{id} is dead");
    assert!(years(*birth, as_of()) >= 18, "{id} is a minor");
}

#[test]
fn enterprises_have_valid_tax_codes_real_head_offices_and_adult_representatives() {
    let people = citizens();
    let wards = ward_provinces();
    let rows = query(
        "SELECT enterprise_code, name, legal_form, status, registration_date, head_office_ward_code, \
         head_office_province_code, CAST(charter_capital_vnd AS TEXT), main_industry, legal_representative_id \
         FROM enterprises",
    );
    assert!(rows.len() > 500, "{} enterprises", rows.len());
    let mut codes = HashSet::new();
    for row in &rows {
        let v: Vec<&str> = row.iter().map(|c| c.as_deref().unwrap()).collect();
        assert!(is_valid_tax_code(v[0]), "tax code {}", v[0]);
        assert!(codes.insert(v[0].to_owned()), "duplicate {}", v[0]);
        let prefix = match v[2] {
            "sole_proprietorship" => "DOANH NGHIỆP TƯ NHÂN ",
            "single_member_llc" => "CÔNG TY TNHH MỘT THÀNH VIÊN ",
            "multi_member_llc" => "CÔNG TY TNHH ",
            "joint_stock" => "CÔNG TY CỔ PHẦN ",
            "partnership" => "CÔNG TY HỢP DANH ",
            other => panic!("legal form {other}"),
        };
        assert!(v[1].starts_with(prefix), "{} is a {}", v[1], v[2]);
        assert!(day(v[4]) <= as_of());
        assert_eq!(wards.get(v[5]).map(String::as_str), Some(v[6]), "head office {}", v[5]);
        assert!(v[7].parse::<i64>().unwrap() >= 100_000_000);
        assert!(
            v[8].len() == 4 && v[8].bytes().all(|b| b.is_ascii_digit()),
            "VSIC {}",
            v[8]
        );
        living_adult(&people, v[9]);
    }
    let open = query("SELECT CAST(count(*) AS TEXT) FROM enterprise_register");
    assert_eq!(
        open[0][0],
        Some(rows.len().to_string()),
        "the open view lists every enterprise"
    );
    let statuses: HashSet<String> = query("SELECT DISTINCT status FROM enterprises")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert!(statuses.len() >= 5, "{statuses:?}");
}

/// Enterprise, holder kind, citizen, enterprise, percent.
type Holding = (String, String, Option<String>, Option<String>, f64);

#[test]
fn shareholdings_add_up_to_one_hundred_percent_and_holders_exist() {
    let people = citizens();
    let db = crate::data::sqlite();
    let mut statement = db
        .prepare("SELECT enterprise_code, holder_kind, holder_citizen_id, holder_enterprise_code, share_pct FROM shareholders")
        .unwrap();
    let rows: Vec<Holding> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let enterprises: HashSet<String> = query("SELECT enterprise_code FROM enterprises")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let mut totals: HashMap<&str, f64> = HashMap::new();
    let mut holders = HashSet::new();
    for (enterprise, kind, citizen, corporate, pct) in &rows {
        assert!(enterprises.contains(enterprise));
        *totals.entry(enterprise).or_default() += pct;
        match (kind.as_str(), citizen, corporate) {
            ("citizen", Some(c), None) => living_adult(&people, c),
            ("enterprise", None, Some(e)) => assert!(enterprises.contains(e) && e != enterprise, "holder {e}"),
            other => panic!("holder {other:?}"),
        }
        assert!(
            holders.insert((enterprise, citizen, corporate)),
            "{enterprise} lists a holder twice"
        );
    }
    assert_eq!(totals.len(), enterprises.len(), "every enterprise has holders");
    for (e, total) in totals {
        assert!((total - 100.0).abs() < 1e-6, "{e}: shares sum to {total}");
    }
}

#[test]
fn civil_servants_are_adults_in_well_formed_agencies_with_grades_in_range() {
    let people = citizens();
    let agencies: HashMap<String, Option<String>> = query("SELECT agency_code, province_code FROM agencies")
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone()))
        .collect();
    for code in agencies.keys() {
        AgencyCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    for code in [
        "000.00.00.G01",
        "000.00.20.H26",
        "000.70.99.H26",
        "000.00.00.H49",
        "000.01.00.G12",
    ] {
        assert!(agencies.contains_key(code), "{code}");
    }
    let rows = query(
        "SELECT personnel_no, citizen_id, agency_code, agency_province_code, grade_code, \
         CAST(salary_coefficient AS TEXT), start_date FROM personnel",
    );
    assert!(rows.len() > 1000, "{} civil servants", rows.len());
    for row in &rows {
        let no = row[0].as_deref().unwrap();
        assert!(no.len() == 10 && no.starts_with("CB"), "{no}");
        let citizen = row[1].as_deref().unwrap();
        living_adult(&people, citizen);
        let agency = row[2].as_deref().unwrap();
        assert_eq!(
            agencies.get(agency),
            Some(&row[3]),
            "{no}: agency {agency} and its province"
        );
        let (low, high) = match row[4].as_deref().unwrap() {
            "01.001" => (6.20, 8.00),
            "01.002" | "04.024" => (4.40, 6.78),
            "01.003" | "04.025" => (2.34, 4.98),
            "01.004" => (2.10, 4.89),
            other => panic!("grade {other}"),
        };
        let coefficient: f64 = row[5].as_deref().unwrap().parse().unwrap();
        assert!((low..=high).contains(&coefficient), "{no}: coefficient {coefficient}");
        let start = day(row[6].as_deref().unwrap());
        assert!(
            years(people[citizen].0, start) >= 18 && start <= as_of(),
            "{no} started under 18"
        );
    }
}

#[test]
fn some_civil_servants_of_every_province_run_or_own_enterprises() {
    let conflicts = query(
        "SELECT DISTINCT p.agency_province_code FROM personnel p \
         WHERE p.agency_province_code IS NOT NULL AND (\
           EXISTS (SELECT 1 FROM enterprises e WHERE e.legal_representative_id = p.citizen_id) OR \
           EXISTS (SELECT 1 FROM shareholders s WHERE s.holder_citizen_id = p.citizen_id))",
    );
    let with_staff =
        query("SELECT DISTINCT agency_province_code FROM personnel WHERE agency_province_code IS NOT NULL");
    assert_eq!(
        conflicts.len(),
        with_staff.len(),
        "every province with civil servants has a conflict case"
    );
    assert!(
        with_staff.iter().any(|r| r[0].as_deref() == Some("01")),
        "Hà Nội has civil servants"
    );
    let hanoi = query(
        "SELECT CAST(count(DISTINCT p.citizen_id) AS TEXT) FROM personnel p \
         JOIN enterprises e ON e.legal_representative_id = p.citizen_id WHERE p.agency_province_code = '01'",
    );
    let hanoi: usize = hanoi[0][0].as_deref().unwrap().parse().unwrap();
    assert!(hanoi >= 2, "{hanoi} Hà Nội civil servants represent an enterprise");
}

#[test]
fn parcels_and_rights_are_in_real_wards_and_rights_add_up() {
    let people = citizens();
    let wards = ward_provinces();
    let parcels = parquet("land/parcels.parquet");
    let ids = required(&parcels, "parcel_id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "parcels sorted by a unique id");
    let land_uses: HashSet<String> = required(&parquet("reference/land_use_codes.parquet"), "code")
        .into_iter()
        .collect();
    let (ward, province) = (required(&parcels, "ward_code"), required(&parcels, "province_code"));
    let (sheet, number) = (ints(&parcels, "map_sheet"), ints(&parcels, "parcel_no"));
    let areas = floats(&parcels, "area_m2");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(id, &format!("{}-{:03}-{:04}", ward[i], sheet[i], number[i]));
        assert_eq!(wards.get(&ward[i]), Some(&province[i]));
        assert!(areas[i] > 0.0);
    }
    assert!(
        required(&parcels, "land_use_code")
            .iter()
            .all(|c| land_uses.contains(c))
    );
    assert!(ward.iter().any(|w| w == "00070"), "parcels in the demo ward");

    let rights = parquet("land/rights.parquet");
    let parcel_ward: HashMap<&str, (&str, &str)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), (ward[i].as_str(), province[i].as_str())))
        .collect();
    let enterprises: HashSet<String> = query("SELECT enterprise_code FROM enterprises")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let of = required(&rights, "parcel_id");
    let (rward, rprovince) = (required(&rights, "ward_code"), required(&rights, "province_code"));
    let (kind, citizen, enterprise) = (
        required(&rights, "holder_kind"),
        strings(&rights, "holder_citizen_id"),
        strings(&rights, "holder_enterprise_code"),
    );
    let shares = floats(&rights, "share");
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for i in 0..of.len() {
        let (w, p) = parcel_ward
            .get(of[i].as_str())
            .unwrap_or_else(|| panic!("parcel {} does not exist", of[i]));
        assert_eq!(
            (rward[i].as_str(), rprovince[i].as_str()),
            (*w, *p),
            "rights repeat the parcel's ward"
        );
        match (kind[i].as_str(), &citizen[i], &enterprise[i]) {
            ("citizen", Some(c), None) => living_adult(&people, c),
            ("enterprise", None, Some(e)) => assert!(enterprises.contains(e), "{e}"),
            other => panic!("holder {other:?}"),
        }
        *totals.entry(of[i].as_str()).or_default() += shares[i];
    }
    assert!(of.windows(2).all(|w| w[0] <= w[1]), "rights sorted by parcel");
    assert_eq!(totals.len(), ids.len(), "every parcel has a holder");
    assert!(totals.values().all(|t| (t - 1.0).abs() < 1e-9));
}
