//! The land database: parcels in real wards (about 0.3 per resident) with map sheet and parcel
//! numbers, land-use codes, areas and origins, and their rights holders (adult citizens of the
//! ward, couples holding jointly, or enterprises), written sorted by parcel ID.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int32Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, SchemaRef};
use rand::Rng;
use rayon::prelude::*;

use crate::business::Enterprise;
use crate::parquet_out::{self, ColumnSpec, ROW_GROUP};
use crate::people::{self, Adults, Chunk, CitizenId};
use crate::pick::{self, AS_OF, Day, Stream, Weighted, add_years, day_between, days, one_of};
use crate::population::id_str;
use crate::reference::Reference;
use crate::{Error, Progress};

const PARCELS: &[ColumnSpec] = &[
    ("parcel_id", DataType::Utf8, false),
    ("ward_code", DataType::Utf8, false),
    ("province_code", DataType::Utf8, false),
    ("map_sheet", DataType::Int32, false),
    ("parcel_no", DataType::Int32, false),
    ("area_m2", DataType::Float64, false),
    ("land_use_code", DataType::Utf8, false),
    ("use_term_until", DataType::Date32, true),
    ("origin", DataType::Utf8, false),
];

const RIGHTS: &[ColumnSpec] = &[
    ("parcel_id", DataType::Utf8, false),
    ("ward_code", DataType::Utf8, false),
    ("province_code", DataType::Utf8, false),
    ("holder_kind", DataType::Utf8, false),
    ("holder_citizen_id", DataType::Utf8, true),
    ("holder_enterprise_code", DataType::Utf8, true),
    ("certificate_no", DataType::Utf8, false),
    ("issue_date", DataType::Date32, false),
    ("share", DataType::Float64, false),
];

struct Parcel {
    id: String,
    sheet: i32,
    number: i32,
    area: f64,
    land_use: &'static str,
    term: Option<Day>,
    origin: &'static str,
}

/// The parcels and rights of one ward.
struct WardLand {
    ward: usize,
    parcels: Vec<Parcel>,
    rights: Vec<Right>,
}

struct Right {
    parcel: usize,
    citizen: Option<String>,
    enterprise: Option<String>,
    certificate: String,
    issued: Day,
    share: f64,
}

/// Land use by kind of ward, with weights.
fn land_uses(kind: &str) -> &'static [(&'static str, f64)] {
    match kind {
        "phuong" => &[
            ("ODT", 70.0),
            ("TMD", 10.0),
            ("SKC", 4.0),
            ("CLN", 6.0),
            ("HNK", 5.0),
            ("LUC", 5.0),
        ],
        "dac_khu" => &[
            ("ONT", 35.0),
            ("NTS", 25.0),
            ("RSX", 15.0),
            ("TMD", 10.0),
            ("CLN", 15.0),
        ],
        _ => &[
            ("ONT", 35.0),
            ("LUC", 22.0),
            ("LUK", 5.0),
            ("HNK", 10.0),
            ("CLN", 12.0),
            ("RSX", 6.0),
            ("NTS", 5.0),
            ("SKC", 2.0),
            ("TMD", 2.0),
            ("NKH", 1.0),
        ],
    }
}

/// Plausible area range (m²) of a land use.
fn area_range(code: &str) -> (f64, f64) {
    match code {
        "ODT" => (30.0, 250.0),
        "ONT" => (80.0, 600.0),
        "LUC" | "LUK" => (300.0, 3000.0),
        "HNK" => (200.0, 2000.0),
        "CLN" => (300.0, 5000.0),
        "RSX" => (2000.0, 50_000.0),
        "NTS" => (500.0, 10_000.0),
        _ => (100.0, 5000.0),
    }
}

fn origin(rng: &mut Stream, code: &str) -> &'static str {
    let table: &[(&str, f64)] = match code {
        "ODT" | "ONT" => &[
            ("allocated_with_levy", 40.0),
            ("recognised", 35.0),
            ("transferred", 25.0),
        ],
        "TMD" | "SKC" => &[
            ("leased_annual", 50.0),
            ("leased_lump_sum", 40.0),
            ("transferred", 10.0),
        ],
        _ => &[
            ("allocated_without_levy", 60.0),
            ("recognised", 20.0),
            ("transferred", 15.0),
            ("leased_annual", 5.0),
        ],
    };
    Weighted::new(table.iter().copied()).pick(rng)
}

const CERTIFICATE_SERIES: &[&str] = &["CS", "CH", "CT", "BA", "BB", "BC", "BD", "BE", "BG", "BH", "BK", "BL"];

/// Everything the land generator reads.
pub(crate) struct Inputs<'a> {
    pub seed: u64,
    pub r: &'a Reference,
    pub chunks: &'a [Chunk],
    pub ids: &'a [CitizenId],
    pub adults: &'a Adults,
    pub enterprises: &'a [Enterprise],
}

/// Writes `land/parcels.parquet` and `land/rights.parquet`.
pub(crate) fn write(dir: &Path, input: &Inputs<'_>, progress: &dyn Progress) -> Result<(), Error> {
    let r = input.r;
    let mut residents = vec![0usize; r.wards.len()];
    for c in input.chunks {
        for p in c.people.iter().filter(|p| p.living()) {
            residents[usize::from(p.permanent_ward)] += 1;
        }
    }
    let mut order: Vec<usize> = (0..r.wards.len()).collect();
    order.sort_by(|&a, &b| r.wards[a].code.cmp(&r.wards[b].code));
    let mut enterprises_by_province = vec![Vec::new(); r.provinces.len()];
    for (i, e) in input.enterprises.iter().enumerate() {
        enterprises_by_province[e.province].push(i);
    }
    progress.stage("land", order.len() as u64);
    let wards: Vec<WardLand> = order
        .par_iter()
        .map(|&w| {
            let out = ward(input, &enterprises_by_province, w, residents[w]);
            progress.advance(1);
            out
        })
        .collect();
    progress.finish_stage();

    let parcel_count: usize = wards.iter().map(|w| w.parcels.len()).sum();
    let rights_count: usize = wards.iter().map(|w| w.rights.len()).sum();
    let schema = parquet_out::schema(PARCELS);
    progress.stage("parcels.parquet", parcel_count as u64);
    let parcels = batches(&wards, |slice| parcels_batch(r, &schema, slice), |w| w.parcels.len())?;
    parquet_out::write(&dir.join("parcels.parquet"), &schema, parcels, progress)?;
    progress.finish_stage();

    let schema = parquet_out::schema(RIGHTS);
    progress.stage("rights.parquet", rights_count as u64);
    let rights = batches(&wards, |slice| rights_batch(r, &schema, slice), |w| w.rights.len())?;
    parquet_out::write(&dir.join("rights.parquet"), &schema, rights, progress)?;
    progress.finish_stage();
    Ok(())
}

/// Groups consecutive wards into batches of about a row group each.
fn batches(
    wards: &[WardLand],
    build: impl Fn(&[&WardLand]) -> Result<RecordBatch, Error> + Sync,
    rows: impl Fn(&WardLand) -> usize,
) -> Result<Vec<RecordBatch>, Error> {
    let mut groups: Vec<Vec<&WardLand>> = vec![Vec::new()];
    let mut in_group = 0;
    for ward in wards {
        let n = rows(ward);
        if in_group > 0 && in_group + n > ROW_GROUP {
            groups.push(Vec::new());
            in_group = 0;
        }
        in_group += n;
        if let Some(last) = groups.last_mut() {
            last.push(ward);
        }
    }
    groups.par_iter().filter(|g| !g.is_empty()).map(|g| build(g)).collect()
}

fn ward(input: &Inputs<'_>, enterprises_by_province: &[Vec<usize>], w: usize, residents: usize) -> WardLand {
    let r = input.r;
    let ward = &r.wards[w];
    let mut rng = pick::stream(input.seed, "land", w as u64);
    let count = (residents as f64 * 0.3 + rng.random::<f64>()).floor() as usize;
    let uses = Weighted::new(land_uses(&ward.kind).iter().copied());
    let per_sheet_floor = count.div_ceil(999).max(1);
    let mut parcels = Vec::with_capacity(count);
    let mut rights = Vec::with_capacity(count * 5 / 4);
    let (mut sheet, mut left_on_sheet, mut number) = (0, 0, 0);
    for k in 0..count {
        if left_on_sheet == 0 {
            sheet += 1;
            left_on_sheet = rng.random_range(30..=150).max(per_sheet_floor);
            number = rng.random_range(0..20);
        }
        left_on_sheet -= 1;
        number += rng.random_range(1..=3);
        let land_use = uses.pick(&mut rng);
        let (low, high) = area_range(land_use);
        let area = (low * (high / low).powf(rng.random::<f64>()) * 100.0).round() / 100.0;
        let origin = origin(&mut rng, land_use);
        let issued = day_between(&mut rng, days(1995, 1, 1), AS_OF);
        let term = match (land_use, origin) {
            ("ODT" | "ONT", _) => None,
            (_, "leased_annual" | "leased_lump_sum") => Some(add_years(issued, rng.random_range(20..=50))),
            _ => Some(add_years(issued, 50)),
        };
        parcels.push(Parcel {
            id: format!("{}-{sheet:03}-{number:04}", ward.code),
            sheet,
            number,
            area,
            land_use,
            term,
            origin,
        });
        holders(
            input,
            enterprises_by_province,
            &mut rng,
            w,
            k,
            land_use,
            issued,
            &mut rights,
        );
    }
    WardLand {
        ward: w,
        parcels,
        rights,
    }
}

/// Rights of parcel `k`: an enterprise for most business land, else one citizen, a couple or
/// three co-holders; sorted by holder.
#[allow(clippy::too_many_arguments)]
fn holders(
    input: &Inputs<'_>,
    enterprises_by_province: &[Vec<usize>],
    rng: &mut Stream,
    w: usize,
    k: usize,
    land_use: &str,
    issued: Day,
    rights: &mut Vec<Right>,
) {
    let province = input.r.wards[w].province;
    let certificate = format!(
        "{} {:06}",
        one_of(rng, CERTIFICATE_SERIES),
        rng.random_range(0..1_000_000)
    );
    let business = matches!(land_use, "TMD" | "SKC");
    let local = &enterprises_by_province[province];
    if !input.enterprises.is_empty() && rng.random_bool(if business { 0.85 } else { 0.03 }) {
        let e = if local.is_empty() {
            rng.random_range(0..input.enterprises.len())
        } else {
            *one_of(rng, local)
        };
        rights.push(Right {
            parcel: k,
            citizen: None,
            enterprise: Some(input.enterprises[e].code.clone()),
            certificate,
            issued,
            share: 1.0,
        });
        return;
    }
    let adults = input.adults;
    let pool = if !adults.by_ward[w].is_empty() {
        &adults.by_ward[w]
    } else if !adults.by_province[province].is_empty() {
        &adults.by_province[province]
    } else {
        &adults.all
    };
    if pool.is_empty() {
        return;
    }
    let first = *one_of(rng, pool);
    let mut holders: Vec<(u32, f64)> = vec![(first, 1.0)];
    let roll = rng.random::<f64>();
    if roll < 0.25 {
        let person = people::person(input.chunks, first);
        if let Some(spouse) = person.spouse {
            let chunk = &input.chunks[first as usize / people::CHUNK];
            holders = vec![(first, 0.5), ((chunk.first_person + spouse as usize) as u32, 0.5)];
        }
    } else if roll < 0.30 {
        let (second, third) = (*one_of(rng, pool), *one_of(rng, pool));
        if second != first && third != first && second != third {
            holders = vec![(first, 0.5), (second, 0.25), (third, 0.25)];
        }
    }
    let mut rows: Vec<Right> = holders
        .into_iter()
        .map(|(g, share)| Right {
            parcel: k,
            citizen: Some(id_str(&input.ids[g as usize]).to_owned()),
            enterprise: None,
            certificate: certificate.clone(),
            issued,
            share,
        })
        .collect();
    rows.sort_by(|a, b| a.citizen.cmp(&b.citizen));
    rights.extend(rows);
}

fn parcels_batch(r: &Reference, schema: &SchemaRef, wards: &[&WardLand]) -> Result<RecordBatch, Error> {
    let n: usize = wards.iter().map(|w| w.parcels.len()).sum();
    let mut id = StringBuilder::with_capacity(n, n * 14);
    let mut ward_code = StringBuilder::with_capacity(n, n * 5);
    let mut province = StringBuilder::with_capacity(n, n * 2);
    let (mut sheet, mut number) = (Int32Builder::with_capacity(n), Int32Builder::with_capacity(n));
    let mut area = Float64Builder::with_capacity(n);
    let mut land_use = StringBuilder::with_capacity(n, n * 3);
    let mut term = Date32Builder::with_capacity(n);
    let mut origin = StringBuilder::with_capacity(n, n * 16);
    for w in wards {
        let ward = &r.wards[w.ward];
        for p in &w.parcels {
            id.append_value(&p.id);
            ward_code.append_value(&ward.code);
            province.append_value(&r.provinces[ward.province].code);
            sheet.append_value(p.sheet);
            number.append_value(p.number);
            area.append_value(p.area);
            land_use.append_value(p.land_use);
            term.append_option(p.term);
            origin.append_value(p.origin);
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(ward_code.finish()),
        Arc::new(province.finish()),
        Arc::new(sheet.finish()),
        Arc::new(number.finish()),
        Arc::new(area.finish()),
        Arc::new(land_use.finish()),
        Arc::new(term.finish()),
        Arc::new(origin.finish()),
    ];
    parquet_out::batch(schema, columns)
}

fn rights_batch(r: &Reference, schema: &SchemaRef, wards: &[&WardLand]) -> Result<RecordBatch, Error> {
    let n: usize = wards.iter().map(|w| w.rights.len()).sum();
    let mut parcel = StringBuilder::with_capacity(n, n * 14);
    let mut ward_code = StringBuilder::with_capacity(n, n * 5);
    let mut province = StringBuilder::with_capacity(n, n * 2);
    let mut kind = StringBuilder::with_capacity(n, n * 8);
    let mut citizen = StringBuilder::with_capacity(n, n * 12);
    let mut enterprise = StringBuilder::with_capacity(n, n);
    let mut certificate = StringBuilder::with_capacity(n, n * 9);
    let mut issued = Date32Builder::with_capacity(n);
    let mut share = Float64Builder::with_capacity(n);
    for w in wards {
        let ward = &r.wards[w.ward];
        for right in &w.rights {
            parcel.append_value(&w.parcels[right.parcel].id);
            ward_code.append_value(&ward.code);
            province.append_value(&r.provinces[ward.province].code);
            kind.append_value(if right.citizen.is_some() {
                "citizen"
            } else {
                "enterprise"
            });
            citizen.append_option(right.citizen.as_deref());
            enterprise.append_option(right.enterprise.as_deref());
            certificate.append_value(&right.certificate);
            issued.append_value(right.issued);
            share.append_value(right.share);
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(parcel.finish()),
        Arc::new(ward_code.finish()),
        Arc::new(province.finish()),
        Arc::new(kind.finish()),
        Arc::new(citizen.finish()),
        Arc::new(enterprise.finish()),
        Arc::new(certificate.finish()),
        Arc::new(issued.finish()),
        Arc::new(share.finish()),
    ];
    parquet_out::batch(schema, columns)
}
