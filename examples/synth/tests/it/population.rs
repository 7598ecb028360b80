//! Citizens and households: valid IDs, real wards, families that make sense.

use std::collections::{HashMap, HashSet};

use crate::data::{self, as_of, dates, ints, parquet, required, strings, ward_provinces, years};

#[test]
fn citizen_ids_encode_birth_province_century_sex_and_year_and_are_unique_and_sorted() {
    let citizens = parquet("population/citizens.parquet");
    assert_eq!(citizens.num_rows() as u64, data::CITIZENS);
    let pre2025 = parquet("reference/provinces_pre2025.parquet");
    let prefixes: HashMap<String, String> = required(&pre2025, "province_code")
        .into_iter()
        .zip(required(&pre2025, "citizen_id_prefix"))
        .collect();
    let ids = required(&citizens, "citizen_id");
    let births = dates(&citizens, "date_of_birth");
    let sexes = required(&citizens, "sex");
    let provinces = required(&citizens, "birth_registration_province");
    for i in 0..ids.len() {
        let id = &ids[i];
        assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert_eq!(
            &id[..3],
            prefixes[&provinces[i]],
            "{id}: prefix of province {}",
            provinces[i]
        );
        let birth = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
            + chrono::TimeDelta::days(i64::from(births[i].unwrap()));
        let year = chrono::Datelike::year(&birth);
        let female = match sexes[i].as_str() {
            "female" => 1,
            "male" => 0,
            other => panic!("sex {other}"),
        };
        let century = if year >= 2000 { 2 } else { 0 };
        assert_eq!(
            id[3..4],
            (century + female).to_string(),
            "{id} born {birth} {}",
            sexes[i]
        );
        assert_eq!(id[4..6], format!("{:02}", year % 100), "{id} born {birth}");
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "citizens are sorted by a unique citizen_id"
    );
}

#[test]
fn residences_are_real_2025_wards_and_spread_over_every_province() {
    let wards = ward_provinces();
    let citizens = parquet("population/citizens.parquet");
    for (ward, province) in [
        ("permanent_ward_code", "permanent_province_code"),
        ("current_ward_code", "current_province_code"),
    ] {
        for (w, p) in required(&citizens, ward).iter().zip(required(&citizens, province)) {
            assert_eq!(wards.get(w), Some(&p), "{ward} {w}");
        }
    }
    let provinces: HashSet<String> = required(&citizens, "permanent_province_code").into_iter().collect();
    assert_eq!(provinces.len(), 34, "people in every province");
    let demo_ward = required(&citizens, "current_ward_code")
        .iter()
        .filter(|w| *w == "00070")
        .count();
    assert!(demo_ward >= 100, "the demo ward 00070 has {demo_ward} residents");
    let moved = required(&citizens, "current_ward_code")
        .iter()
        .zip(required(&citizens, "permanent_ward_code"))
        .filter(|(c, p)| **c != *p)
        .count();
    assert!(
        moved > 0 && moved < citizens.num_rows() / 10,
        "{moved} live away from their permanent ward"
    );
}

#[test]
fn names_are_vietnamese_with_diacritics_and_codes_are_from_the_lists() {
    let citizens = parquet("population/citizens.parquet");
    let names = required(&citizens, "full_name");
    assert!(
        names.iter().all(|n| n.split(' ').count() >= 3),
        "family, middle and given names"
    );
    assert!(names.iter().filter(|n| n.starts_with("Nguyễn ")).count() > names.len() / 5);
    assert!(
        names.iter().filter(|n| !n.is_ascii()).count() > names.len() / 2,
        "diacritics"
    );
    let kinh = required(&citizens, "ethnicity").iter().filter(|e| *e == "Kinh").count();
    assert!(
        (0.7..0.95).contains(&(kinh as f64 / names.len() as f64)),
        "Kinh share {kinh}"
    );
    assert!(required(&citizens, "nationality").iter().all(|n| n == "VN"));
    for phone in strings(&citizens, "phone").into_iter().flatten() {
        assert!(
            phone.len() == 10 && phone.starts_with('0') && phone.bytes().all(|b| b.is_ascii_digit()),
            "{phone}"
        );
    }
    for email in strings(&citizens, "email").into_iter().flatten() {
        assert!(email.is_ascii() && email.contains('@'), "{email}");
    }
}

#[test]
fn families_are_symmetric_and_plausible() {
    let citizens = parquet("population/citizens.parquet");
    let ids = required(&citizens, "citizen_id");
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let births: Vec<i32> = dates(&citizens, "date_of_birth")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let deaths = dates(&citizens, "date_of_death");
    let sexes = required(&citizens, "sex");
    let marital = required(&citizens, "marital_status");
    let spouses = strings(&citizens, "spouse_id");
    let households = required(&citizens, "household_id");
    let parents = [
        ("father_id", "male", strings(&citizens, "father_id")),
        ("mother_id", "female", strings(&citizens, "mother_id")),
    ];
    let mut married = 0;
    for i in 0..ids.len() {
        let age = years(births[i], deaths[i].unwrap_or(as_of()));
        assert!((0..=101).contains(&age), "{}: age {age}", ids[i]);
        if let Some(death) = deaths[i] {
            assert!(
                death > births[i] && death <= as_of(),
                "{} died before birth or after the as-of date",
                ids[i]
            );
        }
        if let Some(s) = &spouses[i] {
            let j = *index
                .get(s.as_str())
                .unwrap_or_else(|| panic!("spouse {s} of {} does not exist", ids[i]));
            assert_eq!(
                spouses[j].as_deref(),
                Some(ids[i].as_str()),
                "spouse of {} is not symmetric",
                ids[i]
            );
            assert_ne!(sexes[i], sexes[j]);
            assert_eq!(marital[i], "married");
            assert!(years(births[i], as_of()) >= 18, "{} married under 18", ids[i]);
            assert_eq!(households[i], households[j], "spouses share a household");
            married += 1;
        } else if deaths[i].is_none() {
            assert_ne!(marital[i], "married", "{} is married to nobody", ids[i]);
        }
        for (column, sex, values) in &parents {
            if let Some(parent) = &values[i] {
                let p = *index
                    .get(parent.as_str())
                    .unwrap_or_else(|| panic!("{column} {parent} does not exist"));
                assert_eq!(
                    sexes[p],
                    *sex,
                    "{column} {parent} of {} ({})",
                    ids[i],
                    required(&citizens, "relationship_to_head")[i]
                );
                let gap = years(births[p], births[i]);
                assert!((15..=50).contains(&gap), "{} born when {column} was {gap}", ids[i]);
            }
        }
    }
    assert!(married > ids.len() / 5, "{married} married people");
    let dead = deaths.iter().filter(|d| d.is_some()).count();
    assert!(
        (ids.len() / 300..ids.len() / 30).contains(&dead),
        "about 1 % deceased, got {dead}"
    );
}

#[test]
fn households_match_their_members() {
    let citizens = parquet("population/citizens.parquet");
    let households = parquet("population/households.parquet");
    let ids = required(&households, "household_id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "households sorted by a unique id");
    assert!(
        ids.iter()
            .all(|id| id.len() == 12 && id.starts_with("HK") && id[2..].bytes().all(|b| b.is_ascii_digit()))
    );
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    let of = required(&citizens, "household_id");
    for (i, h) in of.iter().enumerate() {
        members.entry(h.as_str()).or_default().push(i);
    }
    assert_eq!(
        members.len(),
        ids.len(),
        "every citizen's household exists and every household has members"
    );
    let citizen_ids = required(&citizens, "citizen_id");
    let relation = required(&citizens, "relationship_to_head");
    let permanent = required(&citizens, "permanent_ward_code");
    let heads = required(&households, "head_citizen_id");
    let wards = required(&households, "ward_code");
    let counts = ints(&households, "member_count");
    let provinces = ward_provinces();
    let household_provinces = required(&households, "province_code");
    for (k, id) in ids.iter().enumerate() {
        let m = &members[id.as_str()];
        assert_eq!(counts[k] as usize, m.len(), "member_count of {id}");
        let head: Vec<&usize> = m.iter().filter(|&&i| relation[i] == "head").collect();
        assert_eq!(head.len(), 1, "{id} has one head");
        assert_eq!(citizen_ids[*head[0]], heads[k]);
        assert!(
            m.iter().all(|&i| permanent[i] == wards[k]),
            "members of {id} live in its ward"
        );
        assert_eq!(provinces.get(&wards[k]), Some(&household_provinces[k]));
    }
}

#[test]
fn parquet_files_have_row_groups_and_page_indexes_for_pruning() {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    use parquet::file::metadata::PageIndexPolicy;
    let file = std::fs::File::open(data::dir().join("population/citizens.parquet")).unwrap();
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let metadata = ArrowReaderMetadata::load(&file, options).unwrap();
    let metadata = metadata.metadata();
    assert_eq!(metadata.num_row_groups(), 2, "64 Ki rows per row group");
    assert!(
        metadata.column_index().is_some() && metadata.offset_index().is_some(),
        "page index written"
    );
    let stats = metadata.row_group(1).column(0).statistics().unwrap();
    assert!(
        stats.min_bytes_opt().is_some() && stats.max_bytes_opt().is_some(),
        "row-group statistics"
    );
    let pages = &metadata.offset_index().unwrap()[0][0];
    assert!(pages.page_locations().len() > 1, "several pages per row group");
}
