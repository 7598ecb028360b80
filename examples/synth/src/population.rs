//! The population database: `citizens.parquet` sorted by citizen ID and `households.parquet`
//! sorted by household ID, built from the chunks of [`crate::people`] with names, home towns,
//! ethnicity, religion and contacts added.

use std::path::Path;

use arrow::array::{ArrayRef, Date32Builder, Int32Builder, RecordBatch, StringBuilder};
use arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use rand::Rng;
use rayon::prelude::*;
use std::sync::Arc;

use crate::names::{self, ascii_fold};
use crate::parquet_out::{self, ColumnSpec, ROW_GROUP};
use crate::people::{Chunk, CitizenId, Person};
use crate::pick::{self, AS_OF, Weighted, age, one_of};
use crate::reference::Reference;
use crate::{Error, Progress};

const CITIZENS: &[ColumnSpec] = &[
    ("citizen_id", DataType::Utf8, false),
    ("full_name", DataType::Utf8, false),
    ("date_of_birth", DataType::Date32, false),
    ("sex", DataType::Utf8, false),
    ("birth_registration_province", DataType::Utf8, false),
    ("home_town", DataType::Utf8, false),
    ("ethnicity", DataType::Utf8, false),
    ("religion", DataType::Utf8, false),
    ("nationality", DataType::Utf8, false),
    ("blood_group", DataType::Utf8, true),
    ("permanent_ward_code", DataType::Utf8, false),
    ("permanent_province_code", DataType::Utf8, false),
    ("current_ward_code", DataType::Utf8, false),
    ("current_province_code", DataType::Utf8, false),
    ("marital_status", DataType::Utf8, false),
    ("father_id", DataType::Utf8, true),
    ("mother_id", DataType::Utf8, true),
    ("spouse_id", DataType::Utf8, true),
    ("household_id", DataType::Utf8, false),
    ("relationship_to_head", DataType::Utf8, false),
    ("phone", DataType::Utf8, true),
    ("email", DataType::Utf8, true),
    ("date_of_death", DataType::Date32, true),
];

const HOUSEHOLDS: &[ColumnSpec] = &[
    ("household_id", DataType::Utf8, false),
    ("head_citizen_id", DataType::Utf8, false),
    ("ward_code", DataType::Utf8, false),
    ("province_code", DataType::Utf8, false),
    ("member_count", DataType::Int32, false),
    ("registered_date", DataType::Date32, false),
];

/// The ID of the household with global index `h`: `HK` and 10 digits, increasing with `h`.
pub(crate) fn household_id(seed: u64, h: usize) -> String {
    let h = h as u64;
    format!("HK{:010}", 1_000_000_000 + h * 97 + pick::mix(seed ^ 0x4B48, h) % 97)
}

pub(crate) fn id_str(id: &CitizenId) -> &str {
    std::str::from_utf8(id).unwrap_or("000000000000")
}

/// Writes `population/citizens.parquet` and `population/households.parquet`.
pub(crate) fn write(
    dir: &Path,
    seed: u64,
    r: &Reference,
    chunks: &[Chunk],
    ids: &[CitizenId],
    progress: &dyn Progress,
) -> Result<(), Error> {
    let schema = parquet_out::schema(CITIZENS);
    let total: usize = chunks.iter().map(|c| c.people.len()).sum();
    progress.stage("citizens.parquet", total as u64);
    let batches = chunks
        .par_iter()
        .enumerate()
        .map(|(n, c)| citizens_batch(seed, r, n, c, ids, &schema))
        .collect::<Result<Vec<_>, _>>()?;
    let all = concat_batches(&schema, &batches).map_err(|e| Error::Internal(format!("concatenating citizens: {e}")))?;
    drop(batches);
    let order =
        sort_to_indices(all.column(0), None, None).map_err(|e| Error::Internal(format!("sorting citizens: {e}")))?;
    let sorted = (0..total.div_ceil(ROW_GROUP))
        .into_par_iter()
        .map(|g| {
            let indices = order.slice(g * ROW_GROUP, ROW_GROUP.min(total - g * ROW_GROUP));
            take_record_batch(&all, &indices).map_err(|e| Error::Internal(format!("sorting citizens: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    drop(all);
    parquet_out::write(&dir.join("citizens.parquet"), &schema, sorted, progress)?;
    progress.finish_stage();

    let schema = parquet_out::schema(HOUSEHOLDS);
    let count: usize = chunks.iter().map(|c| c.households.len()).sum();
    progress.stage("households.parquet", count as u64);
    let batches = chunks
        .par_iter()
        .map(|c| households_batch(seed, r, c, ids, &schema))
        .collect::<Result<Vec<_>, _>>()?;
    parquet_out::write(&dir.join("households.parquet"), &schema, batches, progress)?;
    progress.finish_stage();
    Ok(())
}

fn households_batch(
    seed: u64,
    r: &Reference,
    c: &Chunk,
    ids: &[CitizenId],
    schema: &SchemaRef,
) -> Result<RecordBatch, Error> {
    let n = c.households.len();
    let mut id = StringBuilder::with_capacity(n, n * 12);
    let mut head = StringBuilder::with_capacity(n, n * 12);
    let mut ward = StringBuilder::with_capacity(n, n * 5);
    let mut province = StringBuilder::with_capacity(n, n * 2);
    let mut members = Int32Builder::with_capacity(n);
    let mut registered = Date32Builder::with_capacity(n);
    for (i, h) in c.households.iter().enumerate() {
        let w = &r.wards[usize::from(h.ward)];
        id.append_value(household_id(seed, c.first_household + i));
        head.append_value(id_str(&ids[c.first_person + h.head as usize]));
        ward.append_value(&w.code);
        province.append_value(&r.provinces[w.province].code);
        members.append_value(h.members as i32);
        registered.append_value(h.registered);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(head.finish()),
        Arc::new(ward.finish()),
        Arc::new(province.finish()),
        Arc::new(members.finish()),
        Arc::new(registered.finish()),
    ];
    parquet_out::batch(schema, columns)
}

/// Per-person details drawn before output: what a person passes on to their children.
struct Inherited {
    family: &'static str,
    home_ward: usize,
    ethnicity: &'static str,
    religion: &'static str,
}

/// `person`'s inherited details: those of the father, else the mother, else their own.
fn inherited<'a>(people: &[Person], own: &'a [Inherited], i: usize) -> &'a Inherited {
    let p = &people[i];
    match (p.father, p.mother) {
        (Some(f), _) => inherited(people, own, f as usize),
        // With no father in the data, children take after their mother.
        (None, Some(m)) => inherited(people, own, m as usize),
        (None, None) => &own[i],
    }
}

fn citizens_batch(
    seed: u64,
    r: &Reference,
    n: usize,
    c: &Chunk,
    ids: &[CitizenId],
    schema: &SchemaRef,
) -> Result<RecordBatch, Error> {
    let mut rng = pick::stream(seed, "details", n as u64);
    let families = Weighted::new(names::FAMILY_NAMES.iter().copied());
    let ethnicities = Weighted::new(names::ETHNICITIES.iter().copied());
    let religions = Weighted::new(names::RELIGIONS.iter().copied());
    let blood = Weighted::new(names::BLOOD_GROUPS.iter().copied());
    // A household mostly shares ethnicity and religion.
    let household_traits: Vec<(&str, &str)> = c
        .households
        .iter()
        .map(|_| (ethnicities.pick(&mut rng), religions.pick(&mut rng)))
        .collect();
    let own: Vec<Inherited> = c
        .people
        .iter()
        .map(|p| {
            let (e, rel) = household_traits[p.household as usize];
            let origin = &r.provinces[r.pre2025[usize::from(p.birth_province)].province];
            Inherited {
                family: families.pick(&mut rng),
                home_ward: *one_of(&mut rng, &origin.wards),
                ethnicity: if rng.random_bool(0.9) {
                    e
                } else {
                    ethnicities.pick(&mut rng)
                },
                religion: if rng.random_bool(0.9) {
                    rel
                } else {
                    religions.pick(&mut rng)
                },
            }
        })
        .collect();

    let len = c.people.len();
    let strings = |bytes: usize| StringBuilder::with_capacity(len, len * bytes);
    let (mut id, mut name, mut sex, mut bprov, mut home, mut ethnicity, mut religion) = (
        strings(12),
        strings(22),
        strings(6),
        strings(2),
        strings(40),
        strings(5),
        strings(6),
    );
    let (mut nationality, mut blood_group, mut pward, mut pprov, mut cward, mut cprov, mut marital) = (
        strings(2),
        strings(2),
        strings(5),
        strings(2),
        strings(5),
        strings(2),
        strings(7),
    );
    let (mut father, mut mother, mut spouse, mut household, mut relation, mut phone, mut email) = (
        strings(12),
        strings(12),
        strings(12),
        strings(12),
        strings(5),
        strings(10),
        strings(24),
    );
    let mut birth = Date32Builder::with_capacity(len);
    let mut death = Date32Builder::with_capacity(len);
    let global = |local: Option<u32>| local.map(|l| id_str(&ids[c.first_person + l as usize]));

    for (i, p) in c.people.iter().enumerate() {
        let traits = inherited(&c.people, &own, i);
        let family = traits.family;
        let (middle, given) = if p.female {
            (
                one_of(&mut rng, names::MIDDLE_FEMALE),
                one_of(&mut rng, names::GIVEN_FEMALE),
            )
        } else {
            (
                one_of(&mut rng, names::MIDDLE_MALE),
                one_of(&mut rng, names::GIVEN_MALE),
            )
        };
        let years = age(p.birth, AS_OF);
        id.append_value(id_str(&ids[c.first_person + i]));
        name.append_value(format!("{family} {middle} {given}"));
        birth.append_value(p.birth);
        sex.append_value(if p.female { "female" } else { "male" });
        bprov.append_value(&r.pre2025[usize::from(p.birth_province)].code);
        let hw = &r.wards[traits.home_ward];
        home.append_value(format!("{}, {}", hw.name, r.provinces[hw.province].name));
        ethnicity.append_value(traits.ethnicity);
        religion.append_value(traits.religion);
        nationality.append_value("VN");
        blood_group.append_option(rng.random_bool(0.97).then(|| blood.pick(&mut rng)));
        let (pw, cw) = (
            &r.wards[usize::from(p.permanent_ward)],
            &r.wards[usize::from(p.current_ward)],
        );
        pward.append_value(&pw.code);
        pprov.append_value(&r.provinces[pw.province].code);
        cward.append_value(&cw.code);
        cprov.append_value(&r.provinces[cw.province].code);
        marital.append_value(p.marital.as_str());
        father.append_option(global(p.father));
        mother.append_option(global(p.mother));
        spouse.append_option(global(p.spouse));
        household.append_value(household_id(seed, c.first_household + p.household as usize));
        relation.append_value(p.relation.as_str());
        let has_phone = years >= 15 && rng.random_bool(0.92);
        phone.append_option(has_phone.then(|| {
            format!(
                "{}{:07}",
                one_of(&mut rng, names::PHONE_PREFIXES),
                rng.random_range(0..10_000_000)
            )
        }));
        let has_email = years >= 18 && rng.random_bool(0.35);
        email.append_option(has_email.then(|| {
            let domain = one_of(&mut rng, &["gmail.com", "gmail.com", "yahoo.com", "outlook.com"]);
            format!(
                "{}{}{}@{domain}",
                ascii_fold(given),
                ascii_fold(family),
                rng.random_range(1..1000)
            )
        }));
        death.append_option(p.death);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(birth.finish()),
        Arc::new(sex.finish()),
        Arc::new(bprov.finish()),
        Arc::new(home.finish()),
        Arc::new(ethnicity.finish()),
        Arc::new(religion.finish()),
        Arc::new(nationality.finish()),
        Arc::new(blood_group.finish()),
        Arc::new(pward.finish()),
        Arc::new(pprov.finish()),
        Arc::new(cward.finish()),
        Arc::new(cprov.finish()),
        Arc::new(marital.finish()),
        Arc::new(father.finish()),
        Arc::new(mother.finish()),
        Arc::new(spouse.finish()),
        Arc::new(household.finish()),
        Arc::new(relation.finish()),
        Arc::new(phone.finish()),
        Arc::new(email.finish()),
        Arc::new(death.finish()),
    ];
    parquet_out::batch(schema, columns)
}
