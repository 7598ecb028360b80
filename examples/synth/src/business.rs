//! Enterprises and their shareholders (the business registration database): valid tax codes,
//! legal forms, statuses, VSIC industries, head offices in real wards, adult legal representatives
//! who exist, and shareholdings that add up to 100 %.

use rand::Rng;

use crate::names;
use crate::people::{Adults, CitizenId};
use crate::pick::{self, AS_OF, Day, Stream, Weighted, day_between, days, one_of};
use crate::population::id_str;
use crate::reference::Reference;

/// One enterprise.
pub(crate) struct Enterprise {
    pub code: String,
    pub name: String,
    pub legal_form: &'static str,
    pub status: &'static str,
    pub registered: Day,
    /// Index into `Reference::wards`.
    pub ward: usize,
    /// Index into `Reference::provinces`.
    pub province: usize,
    pub capital: i64,
    pub industry: &'static str,
    /// Global person index of the legal representative.
    pub representative: u32,
}

/// Who holds a share.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Holder {
    /// A citizen, by global person index.
    Citizen(u32),
    /// An enterprise, by index into the enterprise list.
    Enterprise(usize),
}

/// One shareholding.
pub(crate) struct Share {
    /// Index into the enterprise list.
    pub enterprise: usize,
    pub holder: Holder,
    /// Basis points (1/100 of a percent); an enterprise's shares sum to 10,000.
    pub basis_points: u32,
}

impl Share {
    pub(crate) fn pct(&self) -> f64 {
        f64::from(self.basis_points) / 100.0
    }

    pub(crate) fn capital(&self, enterprises: &[Enterprise]) -> i64 {
        enterprises[self.enterprise].capital / 10_000 * i64::from(self.basis_points)
    }
}

/// The weights of the tax-code check digit (domain.md §2).
const TAX_WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

/// The check digit of the first nine digits of a tax code, or `None` when those digits give none.
pub fn tax_check_digit(first_nine: &[u8]) -> Option<u8> {
    if first_nine.len() != 9 || !first_nine.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first_nine
        .iter()
        .zip(TAX_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = 10 - sum % 11;
    (check < 10).then_some(check as u8)
}

/// Whether `code` is a valid 10-digit enterprise code (tax code).
pub fn is_valid_tax_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 10
        && bytes[2..9].iter().any(|&b| b != b'0')
        && tax_check_digit(&bytes[..9]).is_some_and(|d| bytes[9] == b'0' + d)
}

const LEGAL_FORMS: &[(&str, f64)] = &[
    ("single_member_llc", 40.0),
    ("multi_member_llc", 25.0),
    ("joint_stock", 20.0),
    ("sole_proprietorship", 14.0),
    ("partnership", 1.0),
];

const STATUSES: &[(&str, f64)] = &[
    ("operating", 70.0),
    ("suspended", 8.0),
    ("not_at_registered_address", 5.0),
    ("revoked_tax_enforcement", 4.0),
    ("dissolving", 3.0),
    ("bankrupt", 1.0),
    ("dissolved", 9.0),
];

fn name(rng: &mut Stream, legal_form: &str) -> String {
    let trade = one_of(rng, names::TRADE_WORDS);
    let brand = one_of(rng, names::BRAND_WORDS);
    match legal_form {
        "sole_proprietorship" => format!("DOANH NGHIỆP TƯ NHÂN {trade} {brand}"),
        "single_member_llc" => format!("CÔNG TY TNHH MỘT THÀNH VIÊN {trade} {brand}"),
        "multi_member_llc" => format!("CÔNG TY TNHH {trade} {brand}"),
        "joint_stock" => format!("CÔNG TY CỔ PHẦN {trade} {brand}"),
        _ => format!("CÔNG TY HỢP DANH {trade} {brand}"),
    }
}

/// About one enterprise per 100 citizens, with their shareholders.
pub(crate) fn generate(seed: u64, r: &Reference, adults: &Adults) -> (Vec<Enterprise>, Vec<Share>) {
    let mut rng = pick::stream(seed, "enterprises", 0);
    let count = (adults.all.len() / 75).max(5);
    let forms = Weighted::new(LEGAL_FORMS.iter().copied());
    let statuses = Weighted::new(STATUSES.iter().copied());
    // Tax codes: the 2-digit province code, a 7-digit serial per province, the check digit.
    let mut serials = vec![0u32; r.provinces.len()];
    let mut enterprises = Vec::with_capacity(count);
    if adults.all.is_empty() {
        return (enterprises, Vec::new());
    }
    for _ in 0..count {
        let ward = r.random_ward(&mut rng);
        let province = r.wards[ward].province;
        let code = loop {
            serials[province] += 1 + rng.random_range(0..3);
            let first_nine = format!("{}{:07}", r.provinces[province].code, 100_000 + serials[province]);
            if let Some(check) = tax_check_digit(first_nine.as_bytes()) {
                break format!("{first_nine}{check}");
            }
        };
        let legal_form = forms.pick(&mut rng);
        let capital_millions = (100.0 * 1000f64.powf(rng.random::<f64>())).round() as i64;
        enterprises.push(Enterprise {
            code,
            name: name(&mut rng, legal_form),
            legal_form,
            status: statuses.pick(&mut rng),
            registered: day_between(&mut rng, days(1995, 1, 1), AS_OF),
            ward,
            province,
            capital: capital_millions * 1_000_000,
            industry: names::VSIC[rng.random_range(0..names::VSIC.len())],
            representative: adults.in_province(&mut rng, province).unwrap_or(adults.all[0]),
        });
    }
    let mut shares: Vec<Share> = Vec::new();
    for (e, enterprise) in enterprises.iter().enumerate() {
        let holders = match enterprise.legal_form {
            "sole_proprietorship" | "single_member_llc" => 1,
            "multi_member_llc" => rng.random_range(2..=5),
            "partnership" => rng.random_range(2..=4),
            _ => rng.random_range(3..=7),
        };
        let mut points = split(&mut rng, holders);
        points.sort_unstable_by(|a, b| b.cmp(a));
        let mut taken: Vec<Holder> = Vec::with_capacity(holders);
        for (k, basis_points) in points.into_iter().enumerate() {
            let corporate =
                enterprise.legal_form != "sole_proprietorship" && enterprises.len() > 1 && rng.random_bool(0.12);
            let holder = if k == 0 && !corporate {
                // The largest holder is usually the legal representative.
                Holder::Citizen(enterprise.representative)
            } else if corporate {
                let mut other = rng.random_range(0..enterprises.len());
                if other == e {
                    other = (other + 1) % enterprises.len();
                }
                Holder::Enterprise(other)
            } else {
                Holder::Citizen(
                    adults
                        .in_province(&mut rng, enterprise.province)
                        .unwrap_or(enterprise.representative),
                )
            };
            // The same holder twice would be one holding: merge it into the first.
            if let Some(first) = taken.iter().position(|h| *h == holder) {
                let index = shares.len() - taken.len() + first;
                shares[index].basis_points += basis_points;
                continue;
            }
            taken.push(holder);
            shares.push(Share {
                enterprise: e,
                holder,
                basis_points,
            });
        }
    }
    (enterprises, shares)
}

/// `n` positive basis-point shares summing to 10,000.
fn split(rng: &mut Stream, n: usize) -> Vec<u32> {
    let weights: Vec<u32> = (0..n).map(|_| rng.random_range(1..=100)).collect();
    let total: u32 = weights.iter().sum();
    let mut points: Vec<u32> = weights.iter().map(|w| (w * 10_000 / total).max(1)).collect();
    // Each share is rounded down (and at least 14 points, as weights are 1..=100 over at most
    // 7 holders), so the remainder is never negative; the first holder takes it.
    let assigned: u32 = points.iter().sum();
    points[0] += 10_000_u32.saturating_sub(assigned);
    points
}

/// The citizen ID of a holder, or the enterprise code.
pub(crate) fn holder_ids<'a>(
    holder: Holder,
    ids: &'a [CitizenId],
    enterprises: &'a [Enterprise],
) -> (Option<&'a str>, Option<&'a str>) {
    match holder {
        Holder::Citizen(g) => (Some(id_str(&ids[g as usize])), None),
        Holder::Enterprise(e) => (None, Some(enterprises[e].code.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_tax_code_is_valid() {
        assert!(is_valid_tax_code("0100233488"));
        assert!(!is_valid_tax_code("0100233487"));
        assert!(!is_valid_tax_code("0100000000"));
    }

    #[test]
    fn shares_sum_to_one_hundred_percent() {
        let mut rng = pick::stream(3, "t", 0);
        for n in 1..=7 {
            for _ in 0..200 {
                let p = split(&mut rng, n);
                assert_eq!(p.iter().sum::<u32>(), 10_000, "{p:?}");
                assert!(p.iter().all(|&x| x > 0));
            }
        }
    }
}
