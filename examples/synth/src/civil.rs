//! Civil servants: agencies with well-formed electronic codes (central ministries, every
//! province's People's Committee, its departments and some ward committees) and the personnel
//! they employ, adult citizens with grades and salary coefficients. A few civil servants in every
//! province are made legal representatives or shareholders of enterprises, for the
//! conflict-of-interest scenario.

use rand::Rng;

use crate::business::{Enterprise, Holder, Share};
use crate::people::{self, Adults, Chunk};
use crate::pick::{self, AS_OF, Day, Weighted, add_years, age, day_between, one_of};
use crate::reference::{DEMO_WARD, Reference};

/// An agency of the civil-servants database.
pub(crate) struct Agency {
    pub code: String,
    pub name: String,
    /// Index into `Reference::provinces`; `None` for central agencies.
    pub province: Option<usize>,
    pub parent: Option<String>,
}

/// One civil servant.
pub(crate) struct Servant {
    pub number: String,
    /// Global person index.
    pub person: u32,
    /// Index into the agency list.
    pub agency: usize,
    pub position: &'static str,
    pub grade: &'static str,
    pub coefficient: f64,
    pub start: Day,
    pub rating: &'static str,
}

/// The central agencies: code and name (the same as in the demo catalog).
const CENTRAL: &[(&str, &str, Option<&str>)] = &[
    ("000.00.00.G01", "Bộ Công an", None),
    ("000.00.00.G09", "Bộ Nội vụ", None),
    ("000.00.00.G10", "Bộ Nông nghiệp và Môi trường", None),
    ("000.00.00.G12", "Bộ Tài chính", None),
    ("000.01.00.G12", "Cục Thống kê", Some("000.00.00.G12")),
];

/// Provincial departments: level-2 group of the code and name.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("05", "Sở Nội vụ"),
    ("10", "Sở Giáo dục và Đào tạo"),
    ("11", "Sở Y tế"),
    ("12", "Sở Tài chính"),
    ("15", "Sở Nông nghiệp và Môi trường"),
    ("17", "Sở Xây dựng"),
    ("20", "Thanh tra"),
];

/// Ward People's Committees per province that get an agency.
const WARD_COMMITTEES: usize = 8;

/// The level-1 group (`H` and two digits) of a province's People's Committee. Hà Nội (H26) and
/// Quảng Ninh (H49) carry their real codes; the others get synthetic ones from H50 up.
fn province_letter_code(r: &Reference, province: usize) -> String {
    match r.provinces[province].code.as_str() {
        "01" => "H26".to_owned(),
        "22" => "H49".to_owned(),
        _ => {
            let rank = (0..province)
                .filter(|&p| !matches!(r.provinces[p].code.as_str(), "01" | "22"))
                .count();
            format!("H{}", 50 + rank)
        }
    }
}

/// `Thành phố Hà Nội` stays as it is; `Cao Bằng` becomes `tỉnh Cao Bằng`.
fn province_title(name: &str) -> String {
    if name.starts_with("Thành phố") {
        name.to_owned()
    } else {
        format!("tỉnh {name}")
    }
}

/// Every agency, ordered by code.
pub(crate) fn agencies(r: &Reference) -> Vec<Agency> {
    let mut out: Vec<Agency> = CENTRAL
        .iter()
        .map(|(code, name, parent)| Agency {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            province: None,
            parent: parent.map(str::to_owned),
        })
        .collect();
    for (p, province) in r.provinces.iter().enumerate() {
        let letter = province_letter_code(r, p);
        let committee = format!("000.00.00.{letter}");
        let title = province_title(&province.name);
        out.push(Agency {
            code: committee.clone(),
            name: format!("UBND {title}"),
            province: Some(p),
            parent: None,
        });
        for (group, name) in DEPARTMENTS {
            out.push(Agency {
                code: format!("000.00.{group}.{letter}"),
                name: format!("{name} {title}"),
                province: Some(p),
                parent: Some(committee.clone()),
            });
        }
        // Ward committees: the level-3 group is the last two digits of the ward code; the demo
        // ward comes first so that 000.70.99.H26 is Phường Hoàn Kiếm.
        let mut wards: Vec<usize> = province.wards.clone();
        wards.sort_by_key(|&w| (r.wards[w].code != DEMO_WARD, r.wards[w].code.clone()));
        let mut used = Vec::new();
        for w in wards {
            let group = &r.wards[w].code[3..];
            if group == "00" || used.contains(&group) {
                continue;
            }
            used.push(group);
            out.push(Agency {
                code: format!("000.{group}.99.{letter}"),
                name: format!("UBND {}", r.wards[w].name),
                province: Some(p),
                parent: Some(committee.clone()),
            });
            if used.len() == WARD_COMMITTEES {
                break;
            }
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// Position, grade code and weight, for inspectorates and for other agencies.
const INSPECTORATE_POSITIONS: &[(&str, &str, f64)] = &[
    ("Thanh tra viên", "04.025", 60.0),
    ("Thanh tra viên chính", "04.024", 20.0),
    ("Phó Chánh Thanh tra", "04.024", 5.0),
    ("Chuyên viên", "01.003", 15.0),
];
const POSITIONS: &[(&str, &str, f64)] = &[
    ("Chuyên viên", "01.003", 55.0),
    ("Chuyên viên chính", "01.002", 15.0),
    ("Phó Trưởng phòng", "01.003", 12.0),
    ("Trưởng phòng", "01.002", 6.0),
    ("Cán sự", "01.004", 8.0),
    ("Chuyên viên cao cấp", "01.001", 2.0),
    ("Phó Giám đốc", "01.001", 2.0),
];

/// Salary coefficient range of a grade: lowest, highest, number of steps.
fn grade_range(grade: &str) -> (f64, f64, i32) {
    match grade {
        "01.001" => (6.20, 8.00, 6),
        "01.002" | "04.024" => (4.40, 6.78, 8),
        "01.004" => (2.10, 4.89, 10),
        _ => (2.34, 4.98, 9),
    }
}

const RATINGS: &[(&str, f64)] = &[
    ("excellent", 15.0),
    ("good", 60.0),
    ("satisfactory", 22.0),
    ("unsatisfactory", 3.0),
];

/// About two civil servants per 100 citizens, adults of 22 to 62 living where they work.
pub(crate) fn personnel(
    seed: u64,
    r: &Reference,
    chunks: &[Chunk],
    adults: &Adults,
    agencies: &[Agency],
) -> Vec<Servant> {
    let mut rng = pick::stream(seed, "personnel", 0);
    let target = adults.all.len() * 2 / 75;
    let mut by_province: Vec<Vec<usize>> = vec![Vec::new(); r.provinces.len()];
    let mut central = Vec::new();
    for (i, a) in agencies.iter().enumerate() {
        match a.province {
            Some(p) => by_province[p].push(i),
            None => central.push(i),
        }
    }
    let mut taken = vec![false; adults.all.len()];
    let mut out = Vec::with_capacity(target);
    let mut attempts = 0;
    while out.len() < target && attempts < target * 20 {
        attempts += 1;
        let pick = rng.random_range(0..adults.all.len());
        let global = adults.all[pick];
        let person = people::person(chunks, global);
        let years = age(person.birth, AS_OF);
        if taken[pick] || !(22..=62).contains(&years) {
            continue;
        }
        taken[pick] = true;
        let province = r.wards[usize::from(person.permanent_ward)].province;
        let agency = if rng.random_bool(0.08) {
            *one_of(&mut rng, &central)
        } else {
            *one_of(&mut rng, &by_province[province])
        };
        let inspectorate = agencies[agency].code.contains(".20.");
        let positions = Weighted::new(
            (if inspectorate {
                INSPECTORATE_POSITIONS
            } else {
                POSITIONS
            })
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.2)),
        );
        let (position, grade, _) = if inspectorate {
            INSPECTORATE_POSITIONS[positions.pick(&mut rng)]
        } else {
            POSITIONS[positions.pick(&mut rng)]
        };
        let start = day_between(&mut rng, add_years(person.birth, 22), AS_OF - 30);
        let (low, high, steps) = grade_range(grade);
        let step = ((pick::year(AS_OF) - pick::year(start)) / 3).clamp(0, steps - 1);
        let coefficient = ((low + (high - low) * f64::from(step) / f64::from(steps - 1)) * 100.0).round() / 100.0;
        out.push(Servant {
            number: format!("CB{:08}", 10_000_001 + out.len()),
            person: global,
            agency,
            position,
            grade,
            coefficient,
            start,
            rating: Weighted::new(RATINGS.iter().copied()).pick(&mut rng),
        });
    }
    out
}

/// Conflicts per province: civil servants made legal representatives or shareholders.
const CONFLICTS_PER_PROVINCE: usize = 3;

/// Makes up to [`CONFLICTS_PER_PROVINCE`] civil servants of each province's agencies the legal
/// representative (even ones) or a shareholder (odd ones) of an enterprise, preferably of the same
/// province.
pub(crate) fn link_conflicts(
    seed: u64,
    r: &Reference,
    agencies: &[Agency],
    servants: &[Servant],
    enterprises: &mut [Enterprise],
    shares: &mut [Share],
) {
    if enterprises.is_empty() {
        return;
    }
    let mut rng = pick::stream(seed, "conflicts", 0);
    let mut used = vec![false; enterprises.len()];
    for p in 0..r.provinces.len() {
        let local: Vec<&Servant> = servants
            .iter()
            .filter(|s| agencies[s.agency].province == Some(p))
            .take(CONFLICTS_PER_PROVINCE)
            .collect();
        for (k, servant) in local.into_iter().enumerate() {
            let candidates: Vec<usize> = (0..enterprises.len())
                .filter(|&e| !used[e] && enterprises[e].province == p)
                .collect();
            let candidates = if candidates.is_empty() {
                (0..enterprises.len()).filter(|&e| !used[e]).collect()
            } else {
                candidates
            };
            let Some(&e) = candidates.get(rng.random_range(0..candidates.len().max(1))) else {
                return;
            };
            used[e] = true;
            let citizen_holder = shares.iter().position(|s| {
                s.enterprise == e && matches!(s.holder, Holder::Citizen(h) if h != enterprises[e].representative)
            });
            match citizen_holder {
                Some(s) if k % 2 == 1 => shares[s].holder = Holder::Citizen(servant.person),
                _ => {
                    let old = enterprises[e].representative;
                    enterprises[e].representative = servant.person;
                    for s in shares
                        .iter_mut()
                        .filter(|s| s.enterprise == e && s.holder == Holder::Citizen(old))
                    {
                        s.holder = Holder::Citizen(servant.person);
                    }
                }
            }
        }
    }
}
