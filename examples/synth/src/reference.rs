//! The code lists of `domain.md` (provinces before and after 1 July 2025, the 3,321 wards, land-use
//! codes), embedded from `reference/*.csv`, with the lookups the generators need.

use crate::pick::{Stream, Weighted};

/// A province since 1 July 2025.
pub(crate) struct Province {
    pub code: String,
    pub name: String,
    pub formed_from: String,
    /// Indexes into [`Reference::pre2025`] of the provinces it was formed from.
    pub pre2025: Vec<usize>,
    /// Indexes into [`Reference::wards`] of its wards.
    pub wards: Vec<usize>,
}

/// A province before 1 July 2025.
pub(crate) struct ProvincePre2025 {
    pub code: String,
    pub name: String,
    pub citizen_id_prefix: String,
    pub code_2025: String,
    /// Index into [`Reference::provinces`].
    pub province: usize,
}

/// A commune, ward or special zone since 1 July 2025.
pub(crate) struct Ward {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// Index into [`Reference::provinces`].
    pub province: usize,
}

/// A land-use purpose code.
pub(crate) struct LandUse {
    pub code: String,
    pub group: String,
    pub name_vi: String,
    pub name_en: String,
}

/// All code lists, cross-indexed.
pub(crate) struct Reference {
    pub provinces: Vec<Province>,
    pub pre2025: Vec<ProvincePre2025>,
    pub wards: Vec<Ward>,
    pub land_uses: Vec<LandUse>,
    /// Wards weighted by how many people live there (roughly).
    pub ward_weights: Weighted<usize>,
}

/// The ward of the demo's ward officer (Phường Hoàn Kiếm, Hà Nội).
pub(crate) const DEMO_WARD: &str = "00070";
/// Share of the population placed in [`DEMO_WARD`], so the ward scenario has people at any size.
const DEMO_WARD_SHARE: f64 = 0.005;

const PROVINCES_CSV: &str = include_str!("../reference/provinces_2025.csv");
const PRE2025_CSV: &str = include_str!("../reference/provinces_pre2025.csv");
const WARDS_CSV: &str = include_str!("../reference/wards_2025.csv");
const LAND_USE_CSV: &str = include_str!("../reference/land_use_codes.csv");

/// Rows of a small CSV without quoting (the reference files have none), header skipped.
fn rows(csv: &'static str, columns: usize) -> Result<Vec<Vec<&'static str>>, String> {
    let mut out = Vec::new();
    for (n, line) in csv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns {
            return Err(format!(
                "reference CSV line {}: {} fields, expected {columns}",
                n + 1,
                fields.len()
            ));
        }
        out.push(fields);
    }
    Ok(out)
}

impl Reference {
    /// Parses the embedded code lists.
    pub(crate) fn load() -> Result<Self, String> {
        let mut provinces: Vec<Province> = rows(PROVINCES_CSV, 3)?
            .into_iter()
            .map(|f| Province {
                code: f[0].into(),
                name: f[1].into(),
                formed_from: f[2].into(),
                pre2025: Vec::new(),
                wards: Vec::new(),
            })
            .collect();
        let index_of = |provinces: &[Province], code: &str| {
            provinces
                .iter()
                .position(|p| p.code == code)
                .ok_or_else(|| format!("unknown 2025 province {code}"))
        };
        let mut pre2025 = Vec::new();
        for f in rows(PRE2025_CSV, 4)? {
            let province = index_of(&provinces, f[3])?;
            provinces[province].pre2025.push(pre2025.len());
            pre2025.push(ProvincePre2025 {
                code: f[0].into(),
                name: f[1].into(),
                citizen_id_prefix: f[2].into(),
                code_2025: f[3].into(),
                province,
            });
        }
        let mut wards = Vec::new();
        for f in rows(WARDS_CSV, 5)? {
            let province = index_of(&provinces, f[3])?;
            provinces[province].wards.push(wards.len());
            wards.push(Ward {
                code: f[0].into(),
                name: f[1].into(),
                kind: f[2].into(),
                province,
            });
        }
        let land_uses = rows(LAND_USE_CSV, 4)?
            .into_iter()
            .map(|f| LandUse {
                code: f[0].into(),
                group: f[1].into(),
                name_vi: f[2].into(),
                name_en: f[3].into(),
            })
            .collect();
        if let Some(p) = provinces.iter().find(|p| p.wards.is_empty() || p.pre2025.is_empty()) {
            return Err(format!("province {} has no wards or no pre-2025 province", p.code));
        }
        let ward_weights = weights(&wards, &provinces)?;
        Ok(Self {
            provinces,
            pre2025,
            wards,
            land_uses,
            ward_weights,
        })
    }

    /// A ward at random, weighted by population.
    pub(crate) fn random_ward(&self, rng: &mut Stream) -> usize {
        self.ward_weights.pick(rng)
    }
}

/// Urban wards hold more people than rural communes, and the two big cities more than their ward
/// count says; [`DEMO_WARD`] gets a fixed share.
fn weights(wards: &[Ward], provinces: &[Province]) -> Result<Weighted<usize>, String> {
    let base = |w: &Ward| {
        let kind = match w.kind.as_str() {
            "phuong" => 3.0,
            "dac_khu" => 0.5,
            _ => 1.0,
        };
        let city = if matches!(provinces[w.province].code.as_str(), "01" | "79") {
            1.6
        } else {
            1.0
        };
        kind * city
    };
    let demo = wards
        .iter()
        .position(|w| w.code == DEMO_WARD)
        .ok_or("the demo ward 00070 is missing")?;
    let others: f64 = wards
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != demo)
        .map(|(_, w)| base(w))
        .sum();
    let demo_weight = others * DEMO_WARD_SHARE / (1.0 - DEMO_WARD_SHARE);
    Ok(Weighted::new(
        wards
            .iter()
            .enumerate()
            .map(|(i, w)| (i, if i == demo { demo_weight } else { base(w) })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists_are_complete() {
        let r = Reference::load().unwrap();
        assert_eq!(r.provinces.len(), 34);
        assert_eq!(r.pre2025.len(), 63);
        assert_eq!(r.wards.len(), 3321);
        assert!(r.land_uses.iter().any(|l| l.code == "ODT"));
    }
}
